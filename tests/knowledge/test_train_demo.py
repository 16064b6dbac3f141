"""examples/train_demo.py: real sklearn runs, divergence and PUBLISH notes, deterministic per seed."""
from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from labvoice.knowledge.notes import is_flagged, unflag_note
from labvoice.knowledge.store import ManifestStore

from .conftest import TRAIN_DEMO

MODEL_KINDS = {"logistic_regression", "linear_svm", "perceptron", "random_forest", "mlp"}
FINAL_METRICS = {"val_accuracy", "val_f1", "train_loss", "val_loss", "train_accuracy"}
DIVERGED = re.compile(r"diverged: val_loss rose from ([0-9.e+-]+) to ([0-9.e+-]+)")


def test_the_demo_db_has_the_documented_vocabulary(demo_db):
    runs = ManifestStore(demo_db).runs()
    assert 20 <= len(runs) <= 30
    assert {r.model_kind for r in runs} == MODEL_KINDS
    assert {r.dataset_id for r in runs} == {"digits", "iris", "wine", "breast_cancer"}
    assert all(set(r.metrics) == FINAL_METRICS for r in runs)
    assert all({"model", "dataset", "learning_rate", "epochs", "seed"} <= set(r.params) for r in runs)
    for run in runs:
        assert run.metrics_csv == run.artifacts[0] and run.metrics_csv.endswith("metrics.csv")
        with open(run.metrics_csv, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy"]
        assert len(rows) == run.params["epochs"]
        assert float(rows[-1]["val_accuracy"]) == run.metrics["val_accuracy"]


def test_unstable_runs_are_noted_as_diverged_and_the_best_are_flagged(demo_db):
    runs = ManifestStore(demo_db).runs()
    diverged = [r for r in runs if r.note.startswith("diverged")]
    unstable = [r for r in runs if r.params.get("lr_schedule") == "invscaling"
                or (r.model_kind == "mlp" and r.params["learning_rate"] >= 1)]
    assert {r.run_id for r in diverged} == {r.run_id for r in unstable} and len(diverged) == 3
    for run in diverged:
        low, high = map(float, DIVERGED.fullmatch(run.note).groups())
        assert high > 3 * low and abs(high - run.metrics["val_loss"]) <= 1e-3 * high
    published = [r for r in runs if is_flagged(r.note)]
    assert all(unflag_note(r.note) == "" for r in published)     # the flag is all the note says
    assert sorted(r.dataset_id for r in published) == ["breast_cancer", "digits", "iris", "wine"]
    for run in published:
        rivals = [r for r in runs if r.dataset_id == run.dataset_id and not r.note.startswith("diverged")]
        assert run.metrics["val_accuracy"] == max(r.metrics["val_accuracy"] for r in rivals)


def _metrics_by_setting(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT params_json, final_metrics_json, note FROM manifests").fetchall()
    conn.close()
    return {params: json.dumps([json.loads(metrics), note.split(":")[0]]) for params, metrics, note in rows}


def test_the_cli_reproduces_the_same_metrics_for_the_same_seeds(tmp_path, demo_db):
    done = subprocess.run([sys.executable, str(TRAIN_DEMO), "--db", str(tmp_path / "again.db"),
                           "--artifacts", str(tmp_path / "art"), "--quick"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert re.match(r"logged \d+ runs to .*; 3 diverged", done.stdout)
    again, first = _metrics_by_setting(tmp_path / "again.db"), _metrics_by_setting(demo_db)
    assert again == first and len(first) == len(ManifestStore(demo_db).runs())
