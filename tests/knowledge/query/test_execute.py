"""The executor: RunQuery -> typed rows, checked against plain Python over the DB (query_truth)."""
import pytest

from labvoice.evaluation import query_truth as T
from labvoice.evaluation.suite_dbs import build_documented_db, build_foreign_db
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.execute import Executor
from labvoice.knowledge.query.model import Field, Filter, Order, RunQuery
from labvoice.knowledge.store import ManifestStore


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("execute")
    out = {}
    for name, build in (("documented", build_documented_db), ("foreign", build_foreign_db)):
        path = build(folder / f"{name}.db")
        out[name] = (Executor(Catalog.build(ManifestStore(path).runs())), T.read_truth_rows(path))
    return out


def metric(name):
    return Field(kind="metric", name=name)


def param(name):
    return Field(kind="param", name=name)


def test_rank_with_filters(dbs):
    ex, rows = dbs["documented"]
    q = RunQuery(shape="rank", filters=(Filter(field=Field(kind="model"), op="=", value="mlp"),
                                        Filter(field=param("learning_rate"), op="<", value=0.001)),
                 order=Order(field=metric("val_acc")), limit=2)
    result = ex.run(q)
    want = T.ranked(T.where(rows, model="mlp", test=lambda r: r.params["learning_rate"] < 0.001), "val_acc")[:2]
    assert [r.run_id for r in result.rows] == [r.run_id for r in want]
    assert result.used_run_ids == tuple(r.run_id for r in want)
    assert {(c.run_id, c.field, c.value) for c in result.claims} >= {(r.run_id, "metric:val_acc", r.metrics["val_acc"]) for r in want}


def test_minimised_metric_and_percentages(dbs):
    ex, rows = dbs["foreign"]
    result = ex.run(RunQuery(shape="rank", order=Order(field=metric("val_loss"), descending=False), limit=1))
    assert result.rows[0].run_id == T.ranked(rows, "val_loss")[0].run_id
    assert "percent" in ex.run(RunQuery(shape="rank", order=Order(field=metric("val_acc")), limit=1)).templated_answer
    between = ex.run(RunQuery(shape="list", filters=(Filter(field=param("n_units_1"), op="between", value=(32, 64)),)))
    assert sorted(between.used_run_ids) == sorted(r.run_id for r in rows if 32 <= r.params["n_units_1"] <= 64)
    cosine = ex.run(RunQuery(shape="count", filters=(Filter(field=param("lr_schedule"), op="=", value="cosine"),)))
    assert cosine.rows[0].value("count") == sum(r.params["lr_schedule"] == "cosine" for r in rows)


def test_group_aggregates(dbs):
    ex, rows = dbs["documented"]
    for how in ("mean", "median", "min", "max", "std"):
        result = ex.run(RunQuery(shape="group", group_by=Field(kind="dataset"), aggregate=how, metric="val_acc"))
        want = T.group_values(rows, lambda r: r.dataset, "val_acc", how)
        assert {r.group: r.value(how) for r in result.rows} == pytest.approx(want)
    counts = ex.run(RunQuery(shape="group", group_by=Field(kind="model"), aggregate="count"))
    assert {r.group: r.value("count") for r in counts.rows} == {k: sum(r.model == k for r in rows) for k in
                                                               {r.model for r in rows}}


def test_param_effect_distribution_best_value(dbs):
    ex, rows = dbs["foreign"]
    effect = ex.run(RunQuery(shape="param_effect", metric="val_loss", select=param("init_lr")))
    rho = [r.value("spearman") for r in effect.rows if r.group == "rank correlation"][0]
    assert rho == pytest.approx(T.spearman([r.params["init_lr"] for r in rows], [r.metrics["val_loss"] for r in rows]))
    dist = ex.run(RunQuery(shape="distribution", metric="train_time"))
    assert dict(dist.rows[0].values)["median"] == pytest.approx(T.quartiles([r.metrics["train_time"] for r in rows])["median"])
    best = ex.run(RunQuery(shape="best_param_value", metric="val_loss", select=param("init_lr")))
    means = T.group_values(rows, lambda r: r.params["init_lr"], "val_loss", "mean")
    assert float(best.rows[0].group) == min(means, key=means.get)


def test_zero_runs_say_so_and_invent_nothing(dbs):
    ex, _ = dbs["documented"]
    empty = (Filter(field=Field(kind="dataset"), op="=", value="imagenet"),)
    for q in (RunQuery(shape="rank", filters=empty, order=Order(field=metric("val_acc")), limit=3),
              RunQuery(shape="group", filters=empty, aggregate="mean", metric="val_acc"),
              RunQuery(shape="distribution", filters=empty, metric="val_acc"),
              RunQuery(shape="param_effect", filters=empty, metric="val_acc", select=param("dropout"))):
        result = ex.run(q)
        assert result.used_run_ids == () and result.rows == () and "no runs" in result.templated_answer.lower()
    count = ex.run(RunQuery(shape="count", filters=empty))
    assert count.rows[0].value("count") == 0 and "no runs" in count.templated_answer.lower()


def test_times_are_worded_against_the_callers_now_even_with_two_threads(dbs):
    """`now` is a value of the call (no module global set per call): two threads asking the same
    question against moments a day apart each hear their own wording."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    ex, rows = dbs["documented"]
    best = T.ranked(rows, "val_acc")[0]
    logged = best.time
    q = RunQuery(shape="rank", order=Order(field=metric("val_acc")), limit=1)
    moments = {"today": logged + timedelta(minutes=1), "yesterday": logged + timedelta(days=1)}

    def said(word: str) -> str:
        return ex.run(q, now=moments[word]).facts[0].spoken

    with ThreadPoolExecutor(max_workers=2) as pool:
        heard = list(pool.map(said, ["today", "yesterday"] * 20))
    assert all(f"from {word}" in text for word, text in zip(["today", "yesterday"] * 20, heard)), heard[:2]
