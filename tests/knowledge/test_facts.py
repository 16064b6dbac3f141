"""The fact finder (parse + execute) on a DB with another vocabulary than the demo: every question kind,
follow-ups, the flag action, bad input; ground truth is plain Python over the rows."""
import pytest

from labvoice.knowledge.facts import Context, FactFinder, context_after
from labvoice.knowledge.query.model import FlagRequest, RunQuery, SmallTalk, Unsupported
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
        got = list(finder.ask(question).used_run_ids)
        assert (got == expected) if ordered else (sorted(got) == sorted(expected)), question


def test_vocabulary_comes_from_the_db(heldout):
    _, _, finder = heldout
    assert set(finder.vocab.metrics) == {"val_acc", "test_acc", "train_loss", "eval_f1"}
    assert finder.vocab.headline_metric() == "val_acc"
    assert set(finder.vocab.model_kinds) == {"cnn", "resnet18", "svm", "logreg", "mlp"}


def test_display_keeps_the_id_and_exact_value_and_speech_does_not(heldout):
    _, rows, finder = heldout
    result = finder.ask("Which run had the best validation accuracy on mnist?")
    best = max((r for r in rows if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])
    assert best["run_id"] in result.display_answer and str(best["val_acc"]) in result.display_answer
    spoken = result.templated_answer
    assert best["run_id"] not in spoken and "_" not in spoken
    assert f"{best['val_acc'] * 100:.3g} percent" in spoken
    assert result.rows[0].value("val_acc") == best["val_acc"]
    assert any(c.field == "metric:val_acc" and c.value == best["val_acc"] for c in result.claims)


def test_losses_are_minimised_and_worst_reverses(heldout):
    _, rows, finder = heldout
    lowest = min(rows, key=lambda r: r["train_loss"])["run_id"]
    assert finder.ask("best training loss?").used_run_ids == (lowest,)
    worst = min(rows, key=lambda r: r["val_acc"])["run_id"]
    assert finder.ask("which run had the worst validation accuracy").used_run_ids == (worst,)


def test_count_says_the_number(heldout):
    _, rows, finder = heldout
    result = finder.ask("How many runs used a resnet?")
    n = sum(r["model_type"] == "resnet18" for r in rows)
    assert result.rows[0].value("count") == n and result.templated_answer.startswith(f"{n} runs")


def test_a_count_word_inside_another_question_is_not_a_count(heldout):
    _, rows, finder = heldout
    result = finder.ask("What batch size did the best mnist run use?")
    best = max((r for r in rows if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])
    assert result.query.shape == "param_of_best" and result.rows[0].value("param:batch_size") == best["batch_size"]


def test_comparators_bind_to_the_nearest_field(heldout):
    _, rows, finder = heldout
    result = finder.ask("best mlp with learning rate below 0.001")
    expected = max((r for r in rows if r["model_type"] == "mlp" and r["lr"] < 0.001), key=lambda r: r["val_acc"])
    assert result.used_run_ids == (expected["run_id"],)
    q = finder.ask("how many runs have val acc above 0.9 on mnist").query
    assert q.shape == "count" and {(f.field.kind, f.field.name, f.op) for f in q.filters} == {
        ("dataset", None, "="), ("metric", "val_acc", ">")}


def test_followups_resolve_it_from_the_previous_turn(heldout):
    _, rows, finder = heldout
    first = finder.ask("Which run had the best validation accuracy on mnist?")
    ctx = context_after(first)
    flag = finder.ask("flag it for publishing", ctx)
    assert isinstance(flag.query, FlagRequest)
    assert flag.facts[0].action == ("flag", first.used_run_ids[0], "PUBLISH")
    cmp = finder.ask("compare it with the best logreg", ctx)
    best_logreg = max((r for r in rows if r["dataset"] == "mnist" and r["model_type"] == "logreg"),
                      key=lambda r: r["val_acc"])["run_id"]
    assert cmp.used_run_ids[0] == first.used_run_ids[0] and best_logreg in cmp.used_run_ids


def test_unknown_names_say_what_the_db_has(heldout):
    _, _, finder = heldout
    result = finder.ask("what was the best accuracy on imagenet?")
    assert isinstance(result.query, Unsupported) and result.used_run_ids == ()
    said = result.templated_answer.lower()         # the DB's names as they are said ("MNIST", "CIFAR 10 small")
    assert "imagenet" in said and "mnist" in said and "_" not in said
    assert finder.ask("what was the best accuracy on the mnist dataset?").used_run_ids
    metric = finder.ask("which run had the best BLEU score?")
    assert isinstance(metric.query, Unsupported) and "validation accuracy" in metric.templated_answer


@pytest.mark.parametrize("question,kind", [
    ("hello!", SmallTalk), ("tell me a joke", SmallTalk),
    ("which run had the highest dropout?", RunQuery), ("flag run 1234abcd for publishing", FlagRequest),
])
def test_kinds(heldout, question, kind):
    assert isinstance(heldout[2].parse(question).parsed, kind)


def test_percent_threshold_is_a_fraction(heldout):
    q = heldout[2].parse("runs with test accuracy of at least 90%").parsed
    assert [(f.field.name, f.op, f.value) for f in q.filters] == [("test_acc", ">=", pytest.approx(0.9))]


def test_context_default_is_empty():
    assert Context().run_ids == ()
