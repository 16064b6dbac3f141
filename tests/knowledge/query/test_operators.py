"""Operators on the demo DB (real scikit-learn runs), checked against plain Python over the same DB:
ordinals, exclusion, the best per group; and a word that binds to nothing is said, never dropped."""
from __future__ import annotations

import pytest

from labvoice.evaluation.query_truth import read_truth_rows
from labvoice.knowledge.facts import FactFinder
from labvoice.knowledge.query.model import Clarify, RunQuery, Unsupported
from labvoice.knowledge.store import ManifestStore


@pytest.fixture(scope="module")
def finder(demo_db):
    return FactFinder(ManifestStore(demo_db).runs())


@pytest.fixture(scope="module")
def truth(demo_db):
    return read_truth_rows(demo_db)


def ranked(rows, dataset=None, not_model=None):
    pool = [r for r in rows if "val_accuracy" in r.metrics and (dataset is None or r.dataset == dataset)
            and (not_model is None or r.model != not_model)]
    return sorted(pool, key=lambda r: -r.metrics["val_accuracy"])


def test_the_second_best_and_the_runner_up_skip_exactly_one(finder, truth):
    want = ranked(truth, "digits")[1].metrics["val_accuracy"]
    for question in ("Which run is the second best on digits?", "Who's the runner-up on digits?"):
        result = finder.ask(question)
        assert isinstance(result.query, RunQuery) and result.query.offset == 1, question
        assert [r.value("val_accuracy") for r in result.rows] == [want], question


def test_exclusion_applies_to_models_and_datasets(finder, truth):
    result = finder.ask("What's the best run on wine that isn't an MLP?")
    assert [r.value("val_accuracy") for r in result.rows] == [ranked(truth, "wine", "mlp")[0].metrics["val_accuracy"]]
    assert result.rows[0].model_kind != "mlp"
    result = finder.ask("best validation accuracy, leaving out digits")
    assert result.rows and result.rows[0].dataset != "digits"
    best_elsewhere = max(r.metrics["val_accuracy"] for r in truth if r.dataset != "digits" and "val_accuracy" in r.metrics)
    assert result.rows[0].value("val_accuracy") == best_elsewhere


def test_the_best_run_of_each_dataset(finder, truth):
    result = finder.ask("What's the best run on each dataset?")
    got = {r.group: r.value("val_accuracy") for r in result.rows}
    assert got == {d: ranked(truth, d)[0].metrics["val_accuracy"] for d in {r.dataset for r in truth}}
    assert all(r.run_id for r in result.rows)


@pytest.mark.parametrize("question, words", [
    ("Which run has the best validation accuracy on the cluster ones?", "cluster"),
    ("best nightly run on digits", "nightly"),
    ("What's the best xlnet_base run?", "xlnet"),
])
def test_a_word_that_binds_to_nothing_is_said_not_dropped(finder, question, words):
    result = finder.ask(question)
    assert isinstance(result.query, Unsupported) and not result.used_run_ids
    assert words in result.templated_answer


def test_a_model_said_once_is_kept_in_the_average_not_asked_about(finder):
    assert "mlp" in finder.catalog.kind_names
    result = finder.ask("Which learning rate works best for the MLP on average?")
    assert isinstance(result.query, RunQuery) and '"mlp"' in result.query.model_dump_json()
    assert not isinstance(result.query, Clarify)
