"""The query suite over three DBs (the demo DB through log_run, one written by plain sqlite3 to the
documented schema, one with names the parser was not designed for), with the bundled MiniLM: at
least 200 questions, every shape in at least three phrasings, >= 95 % right overall, >= 85 % per
shape, no invented run ids, spoken text for the ear. Held-out accuracy is asserted loosely (it is
an estimate of generalisation, reported by scripts/evaluate.py --query-suite)."""
import pytest

from labvoice.evaluation.query_score import MIN_OVERALL, MIN_PER_SHAPE, run_suite

MIN_HELD_OUT = 0.8


@pytest.fixture(scope="module")
def suite(tmp_path_factory, demo_db, embedder):
    return run_suite(tmp_path_factory.mktemp("query_suite"), demo_db, embedder)


def test_suite_size_and_phrasings(suite):
    _, verdicts = suite
    mine = [v.question for v in verdicts if v.question.split == "suite"]
    assert len(mine) >= 200 and {q.db for q in mine} == {"demo", "documented", "foreign"}
    for shape in {q.shape for q in mine}:
        styles = {q.style for q in mine if q.shape == shape}
        assert len({q.question for q in mine if q.shape == shape}) >= 3, shape
        assert len(styles) >= 2 or shape == "followup", (shape, styles)
    assert any(q.style == "stt" for q in mine)


def test_accuracy_thresholds_and_nothing_invented(suite):
    summary, _ = suite
    mine = summary["suite"]
    failures = "\n".join(f"{f['id']}: {f['question']} -> {f['why']}" for f in mine["failures"])
    assert mine["accuracy"] >= MIN_OVERALL, failures
    for shape, figures in mine["per_shape"].items():
        assert figures["accuracy"] >= MIN_PER_SHAPE, (shape, failures)
    for split in summary.values():
        assert split["invented_run_ids"] == 0


def test_spoken_text_is_for_the_ear(suite):
    summary, _ = suite
    for split in summary.values():
        assert split["spoken_problems"] == []


def test_held_out_questions_generalise(suite):
    summary, _ = suite
    held = summary["fresh"]
    assert held["questions"] >= 40 and held["accuracy"] >= MIN_HELD_OUT, held["failures"]
