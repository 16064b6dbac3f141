"""The fact finder on a DB with another vocabulary than the demo: every question kind."""
import pytest

from labvoice.knowledge.facts import Context, FactFinder, fmt, resolve_followup
from labvoice.knowledge.question import Intent, parse_question
from labvoice.knowledge.store import ManifestStore
from tests.support.heldout import build_heldout_db, heldout_questions


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    path = tmp_path_factory.mktemp("heldout") / "runs.db"
    rows = build_heldout_db(path)
    return path, rows, FactFinder(ManifestStore(path).runs())


def test_every_question_kind_finds_the_right_runs(heldout):
    _, rows, finder = heldout
    for question, expected, ordered in heldout_questions(rows):
        got = list(finder.find(parse_question(question, finder.vocab)).used_run_ids)
        assert (got == expected) if ordered else (sorted(got) == sorted(expected)), question


def test_vocabulary_comes_from_the_db(heldout):
    _, _, finder = heldout
    assert set(finder.vocab.metrics) == {"val_acc", "test_acc", "train_loss", "eval_f1"}
    assert finder.vocab.headline_metric() == "val_acc"
    assert set(finder.vocab.model_kinds) == {"cnn", "resnet18", "svm", "logreg", "mlp"}


def test_templated_answer_names_the_best_run_and_value(heldout):
    _, rows, finder = heldout
    facts = finder.find(parse_question("Which run had the best validation accuracy on mnist?", finder.vocab))
    best = max((r for r in rows if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])
    assert best["run_id"] in facts.templated_answer
    assert fmt(best["val_acc"]) in facts.templated_answer


def test_losses_are_minimised_and_worst_reverses(heldout):
    _, rows, finder = heldout
    lowest = min(rows, key=lambda r: r["train_loss"])["run_id"]
    assert finder.find(parse_question("best training loss?", finder.vocab)).used_run_ids == (lowest,)
    worst = min(rows, key=lambda r: r["val_acc"])["run_id"]
    assert finder.find(parse_question("which run had the worst validation accuracy", finder.vocab)).used_run_ids == (worst,)


def test_count_sentence_says_the_number(heldout):
    _, rows, finder = heldout
    facts = finder.find(parse_question("How many runs used a resnet?", finder.vocab))
    assert facts.templated_answer.startswith(f"{sum(r['model_type'] == 'resnet18' for r in rows)} runs")


def test_followups_resolve_it_from_the_previous_turn(heldout):
    _, rows, finder = heldout
    first = finder.find(parse_question("Which run had the best validation accuracy on mnist?", finder.vocab))
    ctx = Context(first.used_run_ids, first.query.datasets, first.query.metric)
    q = "flag it for publishing"
    flag = finder.find(resolve_followup(parse_question(q, finder.vocab), q, ctx))
    assert flag.query.intent is Intent.FLAG_REQUEST
    assert flag.facts[0].action == ("set_note", first.used_run_ids[0], "PUBLISH")
    q = "compare it with the best logreg"
    cmp = finder.find(resolve_followup(parse_question(q, finder.vocab), q, ctx))
    best_logreg = max((r for r in rows if r["dataset"] == "mnist" and r["model_type"] == "logreg"),
                      key=lambda r: r["val_acc"])["run_id"]
    assert cmp.used_run_ids[0] == first.used_run_ids[0] and best_logreg in cmp.used_run_ids


def test_unknown_dataset_names_no_runs(heldout):
    _, _, finder = heldout
    facts = finder.find(parse_question("what was the best accuracy on imagenet?", finder.vocab))
    assert facts.used_run_ids == ()
    assert "no runs on imagenet" in facts.templated_answer
    # a known dataset still answers
    assert finder.find(parse_question("what was the best accuracy on the mnist dataset?", finder.vocab)).used_run_ids


@pytest.mark.parametrize("question,intent", [
    ("hello!", Intent.SMALL_TALK),
    ("tell me a joke", Intent.SMALL_TALK),
    ("which run had the highest dropout?", Intent.PARAM_EXTREME),
    ("what dropout did the best cnn use?", Intent.PARAM_OF_BEST),
    ("show me the runs with test accuracy of at least 90%", Intent.THRESHOLD),
    ("what is the latest run?", Intent.MOST_RECENT),
])
def test_intents(heldout, question, intent):
    assert parse_question(question, heldout[2].vocab).intent is intent


def test_percent_threshold_is_a_fraction(heldout):
    q = parse_question("runs with test accuracy of at least 90%", heldout[2].vocab)
    assert q.threshold == pytest.approx(0.9) and q.comparator == ">="
