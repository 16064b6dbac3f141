"""MLflow import from the three places a team keeps runs: a local mlruns folder, a sqlite:/// tracking DB
and an `mlflow server` on loopback, all written by the real mlflow client.

The acceptance check: runs imported twice hold exactly one row per MLflow run, and `ask` names the
best one straight after the import, with no index rebuild.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from labvoice.gui.chart import load_runs
from labvoice.knowledge.store import ManifestStore

from tests.knowledge.importers.conftest import ask, labvoice_id, produce, rows, run_main

RUNS = 6
FILE_STORE_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true"}    # how MLflow 3 still writes a legacy mlruns folder
SERVER_START_S = 120


def _best(made: list[dict]) -> dict:
    return max(made, key=lambda r: r["val_accuracy"])


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-file") / "mlruns"
    made = produce("mlflow", folder.resolve().as_uri(), RUNS, env=FILE_STORE_ENV)
    return folder, made


def test_an_mlruns_folder_imported_twice_holds_one_row_per_run_and_ask_names_the_best(mlruns, tmp_path):
    folder, made = mlruns
    db = tmp_path / "runs.db"
    first = run_main("import", "mlflow", str(folder), "--db", str(db))
    assert first.returncode == 0, first.stderr[-2000:]
    assert f"{RUNS} new, 0 updated" in first.stdout
    best = labvoice_id(db, "mlflow", _best(made)["source_id"])
    ManifestStore(db).set_note(best, "diverged after epoch 4")        # the user's words
    second = run_main("import", "mlflow", str(folder), "--db", str(db), "--json")
    assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads(second.stdout)
    assert (report["added"], report["updated"], report["skipped"]) == (0, RUNS, [])
    stored = rows(db)
    assert len(stored) == RUNS and len({r["run_id"] for r in stored}) == RUNS
    assert next(r for r in stored if r["run_id"] == best)["note"] == "diverged after epoch 4"

    answer = ask(db, "Which run has the best validation accuracy?", tmp_path)
    assert answer["used_run_ids"][0] == best, answer
    assert best in answer["answer"]


def test_what_an_mlflow_run_brings_in(mlruns, tmp_path):
    folder, made = mlruns
    db = tmp_path / "runs.db"
    assert run_main("import", "mlflow", str(folder), "--db", str(db), "--quiet").returncode == 0
    runs = {r.run_id: r for r in ManifestStore(db).runs()}
    spec = made[1]
    run = runs[labvoice_id(db, "mlflow", spec["source_id"])]
    assert run.dataset_id == spec["dataset"] and run.model_kind == spec["model"]
    assert run.params["learning_rate"] == spec["lr"]                   # MLflow's text params made numbers
    assert run.params["run_name"] == f"{spec['model']}-1" and run.params["tags.team"] == "vision"
    assert run.metrics == {"val_accuracy": spec["val_accuracy"], "val_loss": spec["val_loss"]}
    assert run.command.startswith(f"mlflow run {spec['source_id']} from file://")
    assert run.time is not None and run.timestamp.endswith("+00:00")
    assert any(path.endswith("summary.txt") for path in run.artifacts)
    # the curve sits where the runs panel's chart reads it (next to the DB by default)
    assert run.metrics_csv.startswith(str(tmp_path / "artifacts"))
    data = load_runs(db, (run.run_id,), ({"text": "val_accuracy"},))
    ((chart_run, epochs, values),) = data.curves
    assert chart_run == run.run_id and epochs == (0.0, 1.0, 2.0, 3.0) and list(values) == spec["curve"]


def test_a_sqlite_tracking_db(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    made = produce("mlflow", uri, 3)
    db = tmp_path / "runs.db"
    proc = run_main("import", "mlflow", uri, "--db", str(db))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(r.metrics["val_accuracy"] for r in ManifestStore(db).runs()) == sorted(m["val_accuracy"] for m in made)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """`mlflow server` on loopback with a sqlite backend; stopped after the test."""
    import httpx

    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                               "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
                               "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not come up: " + (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def test_an_mlflow_tracking_server(mlflow_server, tmp_path):
    made = produce("mlflow", mlflow_server, 3)
    db = tmp_path / "runs.db"
    proc = run_main("import", "mlflow", mlflow_server, "--db", str(db))
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = {r.run_id: r for r in ManifestStore(db).runs()}
    assert len(runs) == 3
    spec = made[0]
    run = runs[labvoice_id(db, "mlflow", spec["source_id"])]
    assert run.metrics["val_accuracy"] == spec["val_accuracy"]
    assert run.wandb_url.startswith(f"{mlflow_server}/#/experiments/") and run.wandb_url.endswith(spec["source_id"])
    assert run.metrics_csv and open(run.metrics_csv).read().startswith("epoch,val_accuracy")


@pytest.mark.parametrize("source, says", [
    ("{tmp}/nowhere", "not found; expected a local mlruns folder"),
    ("sqlite:///{tmp}/missing.db", "not found; expected"),
    ("{tmp}", "is not an mlruns folder"),
    ("http://127.0.0.1:9", "is not answering"),
])
def test_a_source_that_is_not_there_is_one_clear_line(tmp_path, source, says):
    source = source.format(tmp=tmp_path)
    db = tmp_path / "runs.db"
    proc = run_main("import", "mlflow", source, "--db", str(db))
    assert proc.returncode == 2
    message = proc.stderr.strip()
    assert "\n" not in message and "Traceback" not in message and says in message, message
    assert not (tmp_path / "missing.db").exists()           # MLflow was not allowed to create a store there
