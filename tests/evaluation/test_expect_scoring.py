"""The evaluation's own ground truth and scoring, without models: the SQL resolver agrees with the
held-out DB's independently computed answers, ties are accepted, mentions and WER are measured
right, and scenario files are checked on load."""
from __future__ import annotations

import json

import pytest

from labvoice.config import PROJECT_ROOT
from labvoice.evaluation.expect import Expected, ExpectationError, db_checksum, read_rows, resolve
from labvoice.evaluation.scenarios import BAD_INPUT_KINDS, ScenarioError, load_scenarios
from labvoice.evaluation.scoring import (ids_right, mention_found, percentile, unknown_run_ids,
                                         word_error_rate)
from labvoice.knowledge.store import ManifestStore

from tests.support.heldout import heldout_questions

DEMO_SCENARIOS = PROJECT_ROOT / "scenarios" / "demo.yaml"
# The question kinds of issue 2, as the shipped file names them.
ISSUE2_KINDS = {"best_by_metric", "top_k", "compare", "flagged", "param_of_best", "lowest_loss", "threshold",
                "most_recent", "param_extreme", "note_search", "count", "small_talk"}
# The held-out questions (tests/support/heldout.py) as queries, in the same order.
HELDOUT_QUERIES = [
    {"best": {"metric": "val_acc", "dataset": "mnist"}},
    {"best": {"metric": "test_acc", "k": 3}},
    {"compare": {"metric": "val_acc", "models": ["cnn", "svm"], "dataset": "cifar10_small"}},
    {"note": {"contains": "publish"}},
    {"param_of_best": {"param": "lr", "metric": "val_acc", "model": "resnet18"}},
    {"best": {"metric": "train_loss"}},
    {"threshold": {"metric": "val_acc", "above": 0.95}},
    {"most_recent": {}},
    {"param_extreme": {"param": "batch_size"}},
    {"note": {"contains": "diverged"}},
    {"count": {"model": "mlp"}},
    {"no_runs": True},
]


def test_resolver_agrees_with_the_heldout_ground_truth(heldout_db):
    path, rows = heldout_db
    db_rows = read_rows(path)
    for (question, truth, ordered), query in zip(heldout_questions(rows), HELDOUT_QUERIES, strict=True):
        expected = resolve(query, db_rows)
        got = list(expected.run_ids)
        assert (got == truth) if ordered else (sorted(got) == sorted(truth)), question
        assert expected.no_runs == (not truth)


def test_resolver_rejects_what_the_db_cannot_answer(heldout_db):
    rows = read_rows(heldout_db[0])
    with pytest.raises(ExpectationError, match="metric 'bleu'"):
        resolve({"best": {"metric": "bleu"}}, rows)
    with pytest.raises(ExpectationError, match="unknown query"):
        resolve({"fastest": {}}, rows)


def test_checksum_changes_only_with_the_data(heldout_db, tmp_path):
    from tests.pipeline.conftest import copy_db

    db = copy_db(heldout_db[0], tmp_path / "runs.db")
    before = db_checksum(db)
    assert db_checksum(db) == before
    ManifestStore(db).set_note(heldout_db[1][0]["run_id"], "PUBLISH")
    assert db_checksum(db) != before


def test_ties_and_order():
    tied = Expected(("a", "b"), ordered=True, accept=(frozenset({"a", "c"}), frozenset({"b"})))
    assert ids_right(tied, ["c", "b"]) and ids_right(tied, ["a", "b"])
    assert not ids_right(tied, ["b", "a"]) and not ids_right(tied, ["a"]) and not ids_right(tied, ["a", "a"])
    unordered = Expected(("a", "b"), accept=(frozenset({"a"}), frozenset({"b", "c"})))
    assert ids_right(unordered, ["c", "a"]) and not ids_right(unordered, ["c", "b"])
    assert ids_right(Expected(no_runs=True), []) and not ids_right(Expected(no_runs=True), ["a"])
    assert ids_right(Expected(any_runs=True), ["x", "y"])


def test_mentions_numbers_as_shown_or_as_percentages():
    assert mention_found("0.9644444", "It reached 0.964 on digits.")
    assert mention_found("0.9644444", "It reached 96.4% on digits.")
    assert not mention_found("0.9644444", "It reached 1 on digits.")
    assert mention_found("7", "7 runs used an MLP.") and not mention_found("7", "17 runs used an MLP.")
    assert mention_found("breast_cancer", "the best run on breast cancer")
    assert mention_found("b70ac666", "Run B70AC666 is best.")
    # Run ids that float() reads as numbers (4e768123 = infinity, 12e45678 = 1.2e46) are text too.
    assert mention_found("4e768123", "Run 4e768123 is best.") and not mention_found("4e768123", "Run 12e45678.")
    assert mention_found("12e45678", "The best run is 12e45678.")


def test_unknown_run_ids_and_word_error_rate():
    assert unknown_run_ids("runs abcd1234 and 0badf00d, logged 20261121", {"abcd1234"}) == ["0badf00d"]
    assert word_error_rate("which run is best", "which run is best") == 0.0
    assert word_error_rate("which run is best", "which one is the best") == pytest.approx(2 / 4)
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5) and percentile([], 95) is None


def test_shipped_scenarios_cover_every_question_kind():
    scenarios = load_scenarios(DEMO_SCENARIOS)
    kinds = {s.kind for s in scenarios}
    assert ISSUE2_KINDS <= kinds and BAD_INPUT_KINDS <= kinds
    assert all(s.expect is not None for s in scenarios), "demo expectations must be queries (ids are random)"
    long_input = next(s for s in scenarios if s.kind == "long_input")
    assert len(long_input.question) == 5000 and long_input.bad_input


def test_jsonl_scenarios_and_clear_errors(tmp_path):
    good = tmp_path / "s.jsonl"
    good.write_text(json.dumps({"question": "best run?", "kind": "best", "expected_run_ids": ["abcd1234"],
                                "ordered": True, "expected_mentions": ["abcd1234"]}) + "\n")
    scenario, = load_scenarios(good)
    assert scenario.expected_run_ids == ("abcd1234",) and scenario.ordered and scenario.mentions == ("abcd1234",)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "expected_runs": []}) + "\n")
    with pytest.raises(ScenarioError, match="unknown key.*expected_runs"):
        load_scenarios(bad)
