"""Extractors: numbers said as words, comparators bound to the nearest field, time ranges, run references."""
from datetime import datetime, timezone

import pytest

from labvoice.evaluation.suite_dbs import SUITE_NOW, build_documented_db, build_foreign_db
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.compose import Composer
from labvoice.knowledge.query.extract import extract, time_range, words_to_numbers
from labvoice.knowledge.store import ManifestStore


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extract")
    return {name: Catalog.build(ManifestStore(build(folder / f"{name}.db")).runs())
            for name, build in (("documented", build_documented_db), ("foreign", build_foreign_db))}


def filters(catalog, question):
    parsed = Composer(catalog).parse(question, now=SUITE_NOW).parsed
    return {(f.field.kind, f.field.name, f.op, f.value if not isinstance(f.value, str) or f.field.kind != "time"
             else "time") for f in parsed.filters}


@pytest.mark.parametrize("text,expected", [("fifty epochs", "50 epochs"), ("zero point zero one", "0.01"),
                                           ("one hundred and twenty runs", "120 runs"), ("a couple of runs", "2 runs"),
                                           ("which one is best", "which one is best")])
def test_numbers_said_as_words(text, expected):
    assert words_to_numbers(text) == expected


def test_comparators_bind_to_the_nearest_field(catalogs):
    doc = catalogs["documented"]
    assert filters(doc, "best MLP with learning rate below 0.001") >= {("param", "learning_rate", "<", 0.001)}
    assert ("param", "n_epochs", ">", 100.0) in filters(doc, "runs with more than a hundred epochs")
    assert ("metric", "val_acc", ">", 0.97) in filters(doc, "how many runs have val acc above 0.97 on mnist")
    [(kind, name, op, value)] = filters(doc, "runs with test accuracy of at least 90%")
    assert (kind, name, op) == ("metric", "test_acc", ">=") and value == pytest.approx(0.9)
    assert ("param", "n_epochs", "=", 50.0) in filters(doc, "the mnist runs that trained for 50 epochs")
    foreign = catalogs["foreign"]
    assert ("param", "init_lr", "<", 0.01) in filters(foreign, "runs with a learning rate under 0.01")
    assert ("metric", "val_acc", ">", 90.0) in filters(foreign, "runs with validation accuracy above 90 percent")
    assert ("param", "lr_schedule", "=", "cosine") in filters(foreign, "best run with the cosine schedule")


def test_time_ranges():
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    week = time_range("runs from last week", now)
    assert week.start < now and week.end is None and (now - week.start).days == 7
    november = time_range("what did i train in november", now)
    assert (november.start.month, november.end.month) == (11, 12)
    march = time_range("runs in march", now)
    assert march.start.year == 2026 and march.start.month == 3
    before = time_range("anything before the 10th", now)
    assert before.start is None and before.end.day == 10


def test_run_references(catalogs):
    doc = catalogs["documented"]
    run = doc.runs[5]
    slots = extract(f"tell me about {run.run_id[:5]}", doc)
    assert slots.run_ids == [run.run_id]
    seventh = doc.runs[int(doc.order[6])].run_id
    assert extract("what learning rate did run seven use", doc).run_ids == [seventh]
    assert extract("tell me about run deadbeef99", doc).unknown_runs


def test_speech_to_text_slips(catalogs):
    doc = catalogs["documented"]
    slots = extract("best SDM on M NIST", doc)
    assert [m.name for m in slots.models] == ["svm"] and [m.name for m in slots.datasets] == ["mnist"]
    foreign = catalogs["foreign"]
    assert [m.name for m in extract("best run on naval propulsion", foreign).datasets] == ["naval_propulsion"]
    assert [m.name for m in extract("which run took longest to train", foreign).metrics] == ["train_time"]
