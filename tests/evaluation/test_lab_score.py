"""lab_score's expectation kinds and its dropped-constraint rule, on hand-made results (no DB, no parser):
inputs in, verdicts out."""
from __future__ import annotations

from labvoice.evaluation.lab_dbs import LabQuestion
from labvoice.evaluation.lab_score import check_lab, dropped_names
from labvoice.knowledge.query.model import (Clarify, Field, Filter, Order, QueryResult, Row, RunQuery, SmallTalk,
                                            Unsupported, query_json)

RANK = RunQuery(shape="rank", order=Order(field=Field(kind="metric", name="eval_accuracy")), limit=1,
                filters=(Filter(field=Field(kind="dataset"), op="=", value="glue/sst2"),))


def _row(run_id: str, value: float, group: str | None = None) -> Row:
    return Row(run_id=run_id, values=(("eval_accuracy", value), ("param:learning_rate", 2e-5)), group=group)


def test_per_group_wants_one_run_row_per_group_with_its_best_value():
    expect = {"kind": "per_group", "field": "eval_accuracy", "groups": {"glue/sst2": 0.94, "imdb": 0.95}}
    right = QueryResult(RANK, rows=(_row("a1b2c3d4", 0.94, "glue/sst2"), _row("b1b2c3d4", 0.95, "imdb")))
    assert check_lab(expect, right)[0]
    one_group_short = QueryResult(RANK, rows=(_row("a1b2c3d4", 0.94, "glue/sst2"),))
    assert not check_lab(expect, one_group_short)[0]
    group_rows_without_runs = QueryResult(RANK, rows=(Row(group="glue/sst2", values=(("eval_accuracy", 0.94),)),
                                                      Row(group="imdb", values=(("eval_accuracy", 0.95),))))
    assert not check_lab(expect, group_rows_without_runs)[0]


def test_ask_back_refuse_and_any_of():
    clarify = QueryResult(Clarify(question="best roberta run", said="roberta", options=("roberta-base", "roberta-large"),
                                  kind="model"))
    assert check_lab({"kind": "ask_back", "options": ["roberta-base", "roberta-large"]}, clarify)[0]
    assert not check_lab({"kind": "ask_back", "options": ["roberta-base", "bert-base-uncased"]}, clarify)[0]
    assert check_lab({"kind": "refuse"}, clarify)[0]
    assert check_lab({"kind": "refuse"}, QueryResult(Unsupported(reason="no runs on the cluster")))[0]
    answered = QueryResult(RANK, rows=(_row("a1b2c3d4", 0.94),), used_run_ids=("a1b2c3d4",))
    assert not check_lab({"kind": "refuse"}, answered)[0]
    either = {"kind": "any_of", "options": [{"kind": "ask_back", "options": ["roberta-base"]},
                                            {"kind": "top", "field": "eval_accuracy", "values": [0.94]}]}
    assert check_lab(either, answered)[0] and check_lab(either, clarify)[0]
    assert not check_lab(either, QueryResult(SmallTalk()))[0]


def test_value_in_accepts_any_tied_answer():
    answered = QueryResult(RANK, rows=(_row("a1b2c3d4", 0.94),))
    assert check_lab({"kind": "value_in", "field": "param:learning_rate", "values": [2e-5, 3e-5]}, answered)[0]
    assert not check_lab({"kind": "value_in", "field": "param:learning_rate", "values": [5e-5]}, answered)[0]


def test_a_query_over_the_runs_without_a_name_it_uses_dropped_a_constraint():
    question = LabQuestion("hf-x-1", "hf", "negation", "plain", "best sst2 run that isn't roberta-base?",
                           {"kind": "top"}, uses=("glue/sst2", "roberta-base"))
    assert dropped_names(question, query_json(RANK)) == ("roberta-base",)
    kept = RANK.model_copy(update={"filters": RANK.filters + (
        Filter(field=Field(kind="param", name="model_name_or_path"), op="!=", value="roberta-base"),)})
    assert dropped_names(question, query_json(kept)) == ()
    assert dropped_names(question, query_json(Unsupported(reason="which runs?"))) == ()
    prefix_only = LabQuestion("mlflow-x-1", "mlflow", "names", "plain", "best cifar10 run", {"kind": "top"},
                              uses=("cifar10",))
    on_cifar100 = RunQuery(shape="rank", order=Order(field=Field(kind="metric", name="val_acc1")),
                           filters=(Filter(field=Field(kind="dataset"), op="=", value="cifar100"),))
    assert dropped_names(prefix_only, query_json(on_cifar100)) == ("cifar10",)
