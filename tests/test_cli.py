"""`main.py ask` end to end with the real LLM: JSON shape, batch mode, and the held-out DB check
(right run ids for at least 10 of 12 question kinds, never an id the DB does not have)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.heldout import build_heldout_db, heldout_questions

ROOT = Path(__file__).resolve().parents[1]


def run_main(*args, stdin=None, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "runs.db"
    rows = build_heldout_db(db)
    return db, rows, folder / "no-index"


@pytest.fixture(scope="module")
def batch_answers(heldout):
    db, rows, index = heldout
    questions = heldout_questions(rows)
    batch = "\n".join(q for q, _, _ in questions) + "\n"
    proc = run_main("ask", "--batch", "-", "--db", str(db), "--index", str(index), "--json", stdin=batch)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return questions, answers, rows


def test_batch_prints_one_json_object_per_question(batch_answers):
    questions, answers, _ = batch_answers
    assert len(answers) == len(questions)
    for (question, _, _), answer in zip(questions, answers):
        assert answer["transcript"] == question
        assert answer["answer"].strip()
        assert set(answer) >= {"transcript", "answer", "used_run_ids", "facts", "latency_ms", "interrupted"}
        assert answer["latency_ms"]["llm_done"] >= answer["latency_ms"]["retrieval"] >= 0   # the one latency shape


def test_heldout_run_ids_right_for_at_least_10_of_12(batch_answers):
    questions, answers, _ = batch_answers
    right = 0
    for (question, expected, ordered), answer in zip(questions, answers):
        got = answer["used_run_ids"]
        right += (got == expected) if ordered else (sorted(got) == sorted(expected))
    assert right >= 10, [(q, a["used_run_ids"]) for (q, _, _), a in zip(questions, answers)]


def test_no_answer_names_a_run_id_outside_the_db(batch_answers):
    _, answers, rows = batch_answers
    known = {r["run_id"] for r in rows}
    for answer in answers:
        for token in re.findall(r"\b[0-9a-f]{8}\b", answer["answer"]):
            assert token in known, answer["answer"]
        assert set(answer["used_run_ids"]) <= known


def test_json_keeps_display_and_spoken_apart_and_carries_the_query(batch_answers):
    from labvoice.answer.spoken import spoken_problems

    _, answers, rows = batch_answers
    ids = [r["run_id"] for r in rows]
    for answer in answers:
        assert set(answer) >= {"answer", "spoken", "query"}
        assert answer["spoken"].strip() and spoken_problems(answer["spoken"], ids) == [], answer["spoken"]
    about_runs = [a for a in answers if a["used_run_ids"]]
    assert about_runs and all(a["query"]["type"] == "runs" for a in about_runs)
    naming_runs = [a for a in about_runs
                   if a["query"]["shape"] in ("rank", "list", "compare", "details", "param_of_best")]
    assert naming_runs, [a["query"]["shape"] for a in about_runs]
    for answer in naming_runs:
        assert any(rid in answer["answer"] for rid in answer["used_run_ids"]), answer["answer"]


def test_small_talk_names_no_runs(batch_answers):
    _, answers, _ = batch_answers
    small_talk = answers[-1]
    assert small_talk["used_run_ids"] == [] and not re.search(r"\b[0-9a-f]{8}\b", small_talk["answer"])


def test_missing_index_is_a_warning_not_a_failure(batch_answers):
    _, answers, _ = batch_answers
    assert any("index" in w for w in answers[0]["warnings"])


def test_bad_db_is_one_clear_line(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite")
    proc = run_main("ask", "--text", "best run?", "--db", str(bogus), "--json")
    assert proc.returncode == 2
    assert "not a SQLite database" in proc.stderr and "Traceback" not in proc.stderr
