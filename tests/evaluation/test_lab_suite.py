"""The lab suite of issue 17: six run DBs made by the real producers (GridSearchCV, W&B offline, MLflow,
Keras history lines, Lightning via TensorBoard, Trainer-style runs in MLflow) and read through our
importers, >= 500 questions with every operator in several phrasings, >= 95 % right overall and >= 85 %
per operator, no dropped constraint, no invented run id; the held-out set reported apart and asserted
loosely. The DBs (conftest's `lab_dbs`) are built once per session, in child processes."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from labvoice.evaluation.lab_dbs import CONVENTIONS
from labvoice.evaluation.lab_score import MIN_HELD_OUT, MIN_OVERALL, MIN_PER_OPERATOR, run_lab_suite


@pytest.fixture(scope="module")
def lab(lab_dbs):
    from labvoice.config import load_config
    from labvoice.hardware import apply_thread_budget
    from labvoice.knowledge.embedder import Embedder

    config = load_config()
    apply_thread_budget(config.threads)
    dbs = {name: db.path for name, db in lab_dbs.items()}
    return run_lab_suite(Path(), Embedder.from_config(config), dbs=dbs)


def _failures(figures: dict) -> str:
    return "\n".join(f"{f['id']}: {f['question']} -> {f['why']}" for f in figures["failures"])


def _commands(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT command FROM manifests")]
    finally:
        conn.close()


def test_the_dbs_were_made_by_the_producers_and_read_by_the_importers(lab_dbs):
    assert set(lab_dbs) == set(CONVENTIONS)
    for name, db in lab_dbs.items():
        commands = _commands(db.path)
        kind = CONVENTIONS[name].importer
        assert 10 <= len(commands) <= 40 and len(commands) == len(db.made), name
        for made in db.made:     # the producer's own run id is the source key of exactly one imported row
            key = f"{kind} run {made['source_id']}"
            assert sum(c.startswith(f"{key} from ") or c.startswith(f"{key} of ") for c in commands) == 1, (name, key)
    for name in ("mlflow", "hf"):    # MLflow's own tracking DB holds the runs' uuids
        tracking = lab_dbs[name].path.parent / f"{name}-source" / "mlflow.db"
        conn = sqlite3.connect(f"file:{tracking}?mode=ro", uri=True)
        uuids = {row[0] for row in conn.execute("SELECT run_uuid FROM runs")}
        conn.close()
        assert uuids == {m["source_id"] for m in lab_dbs[name].made}
    offline = {p.name.rsplit("-", 1)[-1] for p in (lab_dbs["wandb"].path.parent / "wandb-source" / "wandb").glob("offline-run-*")}
    assert offline == {m["source_id"] for m in lab_dbs["wandb"].made}


def test_suite_size_operators_and_phrasings(lab):
    _, verdicts = lab
    mine = [v.question for v in verdicts if v.question.split == "suite"]
    assert len(mine) >= 500 and {q.db for q in mine} == set(CONVENTIONS)
    for operator in {q.operator for q in mine}:
        assert len({q.question for q in mine if q.operator == operator}) >= 3, operator
        assert len({q.style for q in mine if q.operator == operator}) >= 2, operator
    assert {"names", "ordinal", "negation", "per_group", "mean_per_group", "compare", "number", "duration", "speed",
            "subset_metric", "direction", "unbound", "ask_back"} <= {q.operator for q in mine}
    assert all(q.expect for q in mine)


def test_accuracy_thresholds_nothing_dropped_nothing_invented(lab):
    summary, _ = lab
    mine = summary["suite"]
    failures = _failures(mine)
    assert mine["dropped_constraints"] == 0, failures
    assert mine["invented_run_ids"] == 0, failures
    assert mine["accuracy"] >= MIN_OVERALL, failures
    for operator, figures in mine["per_operator"].items():
        assert figures["accuracy"] >= MIN_PER_OPERATOR, (operator, figures, failures)


def test_held_out_reported_apart_and_generalises(lab):
    summary, _ = lab
    held = summary["heldout"]
    assert held["questions"] >= 30
    assert held["invented_run_ids"] == 0, _failures(held)
    # dropped constraints on held-out wordings are counted as wrong answers in `accuracy` and reported;
    # a floor, not zero: the set is never tuned on
    assert held["dropped_constraints"] <= 2, _failures(held)
    assert held["accuracy"] >= MIN_HELD_OUT, _failures(held)
