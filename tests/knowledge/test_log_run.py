"""log_run records every provenance field, passes the run id in, and records nothing on failure."""
from __future__ import annotations

import json
import platform
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from labvoice.hardware import device_summary
from labvoice.knowledge.log_run import LoggedRun, LogRunError, current_run_id, log_run
from labvoice.knowledge.store import ManifestStore


def _rows(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM manifests")]
    conn.close()
    return rows


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_a_run_is_recorded_with_all_its_provenance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repo
    monkeypatch.setattr(sys, "argv", ["train.py", "--lr", "0.1"])
    db = tmp_path / "runs.db"

    @log_run(db=db, dataset_id="iris")
    def train(lr: float, epochs: int = 3, *, run_id: str) -> dict:
        out = tmp_path / f"{run_id}.csv"
        out.write_text("epoch\n1\n")
        return {"metrics": {"val_accuracy": 0.9, "val_loss": 0.25}, "artifacts": [out]}

    logged = train(0.1)
    assert isinstance(logged, LoggedRun) and re.fullmatch(r"[0-9a-f]{8}", logged.run_id)
    (row,) = _rows(db)
    assert row["run_id"] == logged.run_id
    assert datetime.fromisoformat(row["timestamp"]).tzinfo is not None
    assert row["git_hash"] == "" and row["git_diff"] == ""
    assert row["command"] == "train.py --lr 0.1"
    assert row["python_version"] == platform.python_version()
    assert "numpy==" in row["pip_freeze"] and all("==" in line for line in row["pip_freeze"].splitlines())
    assert row["device_info"] == device_summary()
    assert row["dataset_id"] == "iris"
    assert json.loads(row["params_json"]) == {"lr": 0.1, "epochs": 3}
    assert json.loads(row["final_metrics_json"]) == {"val_accuracy": 0.9, "val_loss": 0.25}
    (artifact,) = json.loads(row["artifacts_json"])        # the documented shape: a JSON list of paths
    assert artifact == str(tmp_path / f"{logged.run_id}.csv") and Path(artifact).is_file()
    assert logged.artifacts == (artifact,)
    assert row["note"] == ""


def test_git_hash_and_diff_are_recorded_inside_a_repo(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.py").write_text("lr = 0.1\n")
    _git(repo, "add", "train.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    (repo / "train.py").write_text("lr = 0.5\n")
    monkeypatch.chdir(repo)
    db = tmp_path / "runs.db"
    log_run(db=db, dataset_id="wine")(lambda: {"metrics": {"val_accuracy": 1.0}})()
    (row,) = _rows(db)
    assert row["git_hash"] == _git(repo, "rev-parse", "HEAD").strip()
    assert "+lr = 0.5" in row["git_diff"] and "-lr = 0.1" in row["git_diff"]


def test_the_function_gets_the_run_id_both_ways(tmp_path):
    seen = {}

    @log_run(db=tmp_path / "runs.db")
    def train(*, dataset: str, seed: int, run_id: str) -> dict:
        seen["arg"], seen["context"] = run_id, current_run_id()
        return {"metrics": {"val_accuracy": 0.5}}

    logged = train(dataset="digits", seed=1)
    assert seen == {"arg": logged.run_id, "context": logged.run_id}
    assert log_run.current_run_id() is None          # reset after the call
    (row,) = _rows(tmp_path / "runs.db")
    assert row["dataset_id"] == "digits"
    assert json.loads(row["params_json"]) == {"dataset": "digits", "seed": 1}


def test_a_caller_may_choose_the_run_id_but_not_reuse_one(tmp_path):
    calls = []
    train = log_run(db=tmp_path / "runs.db", dataset_id="iris")(
        lambda **kw: calls.append(kw["seed"]) or {"metrics": {"acc": 1}})
    assert train(run_id="cafe0001", seed=3).run_id == "cafe0001"
    with pytest.raises(LogRunError, match="already recorded"):
        train(run_id="cafe0001", seed=4)
    assert calls == [3]                                  # refused before it trained again
    assert [r["run_id"] for r in _rows(tmp_path / "runs.db")] == ["cafe0001"]


def test_a_run_that_raises_is_not_recorded(tmp_path):
    db = tmp_path / "runs.db"

    @log_run(db=db, dataset_id="iris")
    def train(lr: float) -> dict:
        raise FloatingPointError("loss is nan")

    with pytest.raises(FloatingPointError, match="loss is nan"):
        train(0.1)
    assert current_run_id() is None
    assert not db.exists() or _rows(db) == []


@pytest.mark.parametrize("result, message", [
    (None, "must return a dict"),
    ({"val_accuracy": 0.9}, "must return a dict"),
    ({"metrics": {"val_accuracy": "high"}}, "is not a number"),
    ({"metrics": {}}, "no final metrics"),
    ({"metrics": {"acc": 1.0}, "artifacts": "model.pt"}, "'artifacts' must be a list of paths"),
    ({"metrics": {"acc": 1.0}, "artifacts": {"epochs": 3}}, "artifact 'epochs' = 3 is not a path"),
])
def test_a_result_that_breaks_the_contract_is_refused(tmp_path, result, message):
    db = tmp_path / "runs.db"
    with pytest.raises(LogRunError, match=message):
        log_run(db=db, dataset_id="iris")(lambda: result)()
    assert not db.exists() or _rows(db) == []


def test_a_run_without_a_dataset_is_refused_before_it_trains(tmp_path):
    calls = []
    train = log_run(db=tmp_path / "runs.db")(lambda seed: calls.append(seed) or {"metrics": {"a": 1}})
    with pytest.raises(LogRunError, match="no dataset id"):
        train(seed=0)
    assert calls == []


def test_non_finite_metrics_are_stored_as_null_and_each_run_is_committed(tmp_path):
    db = tmp_path / "runs.db"
    train = log_run(db=db, dataset_id="iris")(lambda loss: {"metrics": {"val_accuracy": 0.3, "val_loss": loss}})
    logged = train(float("inf"))
    assert logged.metrics == {"val_accuracy": 0.3, "val_loss": None}
    train(0.5)
    runs = {r.run_id: r for r in ManifestStore(db).runs()}   # a separate reader sees both at once
    assert runs[logged.run_id].metrics == {"val_accuracy": 0.3}
    assert len(runs) == 2
