"""A run DB written exactly as the documented `manifests` schema describes it (DESIGN.md, "Knowledge"),
with plain `sqlite3` and no labvoice code on the writing side, is read right and answered from.

The rows cover what the schema allows: artifacts as a JSON list of paths, NULL columns, timestamps
with and without a zone (and epoch seconds, and one that is not a date), NaN / Infinity / numbers as
strings / words among the metrics, nested params, and a table that lacks the optional columns.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from labvoice.knowledge.store import ManifestStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
# The table as DESIGN.md documents it (untyped columns are how the source system declares them).
DOCUMENTED_TABLE = ("CREATE TABLE manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash, git_diff, command, "
                    "python_version, pip_freeze, device_info, dataset_id, params_json, final_metrics_json, "
                    "artifacts_json, wandb_url, note)")
COLUMNS = ("run_id", "timestamp", "git_hash", "git_diff", "command", "python_version", "pip_freeze",
           "device_info", "dataset_id", "params_json", "final_metrics_json", "artifacts_json", "wandb_url", "note")

BEST_DIGITS = "5be0c7a1"
ROWS = [
    # a run as the documented logger writes it: local time without a zone, artifacts a list of paths
    {"run_id": "1c9e4f20", "timestamp": "2026-03-01T10:00:00", "git_hash": "9f1c2e7", "command": "python train.py",
     "python_version": "3.11.9", "dataset_id": "digits",
     "params_json": json.dumps({"model_name": "mlp", "n_epochs": 10, "learning_rate": 0.01}),
     "final_metrics_json": json.dumps({"val_accuracy": 0.91, "val_loss": 0.31}),
     "artifacts_json": json.dumps(["artifacts/1c9e4f20/metrics.csv", "artifacts/1c9e4f20/model.pt"])},
    # a zone, and non-finite values in the metrics JSON (Python's json writes NaN and Infinity)
    {"run_id": BEST_DIGITS, "timestamp": "2026-03-02T10:00:00+02:00", "dataset_id": "digits",
     "params_json": json.dumps({"model_name": "cnn", "n_epochs": 20, "learning_rate": 0.001}),
     "final_metrics_json": json.dumps({"val_accuracy": 0.97, "val_loss": float("nan"), "grad_norm": float("inf")}),
     "artifacts_json": json.dumps(["artifacts/5be0c7a1/model.pt", "artifacts/5be0c7a1/metrics.csv"]),
     "note": "camera ready"},
    # nested params, a metric written as a string, UTC with a Z
    {"run_id": "a07d33e5", "timestamp": "2026-03-03T09:30:00Z", "dataset_id": "digits",
     "params_json": json.dumps({"model_name": "cnn", "optimizer": {"name": "adam", "lr": 0.0005}}),
     "final_metrics_json": json.dumps({"val_accuracy": "0.95"}), "artifacts_json": json.dumps([])},
    # no usable metric at all, epoch seconds as the timestamp: still a run
    {"run_id": "e8b21f06", "timestamp": 1772604000, "dataset_id": "digits",
     "params_json": json.dumps({"model_name": "mlp"}), "final_metrics_json": json.dumps({"val_accuracy": "n/a"})},
    # every optional column NULL
    {"run_id": "0f6d9b42", "dataset_id": "wine", "final_metrics_json": json.dumps({"val_accuracy": 0.88})},
    # a timestamp that is not a date: the run stays
    {"run_id": "77c0e1ad", "timestamp": "yesterday evening", "dataset_id": "wine",
     "params_json": json.dumps({"model_name": "random_forest", "n_epochs": 1}),
     "final_metrics_json": json.dumps({"val_accuracy": 0.93, "val_loss": 0.2})},
    # one row that is broken for real: skipped and counted, the others still answer
    {"run_id": "dead0bad", "dataset_id": "wine", "params_json": "{model_name: mlp", "final_metrics_json": "{}"},
]


def _write(path: Path, table: str, columns: tuple[str, ...], rows: list[dict]) -> Path:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(table)
        for row in rows:
            conn.execute(f"INSERT INTO manifests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         tuple(row.get(c) for c in columns))
    conn.close()
    return path


@pytest.fixture(scope="module")
def documented_db(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("documented") / "runs.db", DOCUMENTED_TABLE, COLUMNS, ROWS)


def test_every_documented_row_is_read(documented_db):
    report = ManifestStore(documented_db).load()
    runs = {r.run_id: r for r in report.runs}
    assert sorted(runs) == sorted(r["run_id"] for r in ROWS if r["run_id"] != "dead0bad")
    assert report.skipped == 1 and report.skipped_reasons[0].startswith("dead0bad: params_json")

    first, best, nested = runs["1c9e4f20"], runs[BEST_DIGITS], runs["a07d33e5"]
    assert first.artifacts == ("artifacts/1c9e4f20/metrics.csv", "artifacts/1c9e4f20/model.pt")
    assert best.metrics_csv == "artifacts/5be0c7a1/metrics.csv"              # the chart's curve file
    assert first.model_kind == "mlp" and first.params["learning_rate"] == 0.01
    assert best.metrics == {"val_accuracy": 0.97}                             # NaN and Infinity skipped
    assert nested.metrics == {"val_accuracy": 0.95}                           # "0.95" is a number
    assert nested.params == {"model_name": "cnn", "optimizer.name": "adam", "optimizer.lr": 0.0005}
    assert runs["e8b21f06"].metrics == {} and runs["e8b21f06"].dataset_id == "digits"
    assert runs["0f6d9b42"].params == {} and runs["0f6d9b42"].artifacts == () and runs["0f6d9b42"].note == ""


def test_timestamps_with_and_without_a_zone_compare_in_utc(documented_db):
    runs = {r.run_id: r for r in ManifestStore(documented_db).runs()}
    assert runs["1c9e4f20"].timestamp == "2026-03-01T10:00:00.000000+00:00"   # no zone: taken as UTC
    assert runs[BEST_DIGITS].timestamp == "2026-03-02T08:00:00.000000+00:00"  # +02:00 converted
    assert runs["a07d33e5"].timestamp == "2026-03-03T09:30:00.000000+00:00"
    assert runs["e8b21f06"].timestamp == "2026-03-04T06:00:00.000000+00:00"   # epoch seconds
    assert runs["77c0e1ad"].timestamp == "" and runs["77c0e1ad"].time is None
    dated = sorted((r for r in runs.values() if r.time), key=lambda r: r.timestamp)
    assert dated == sorted(dated, key=lambda r: r.time)
    assert [r.run_id for r in dated] == ["1c9e4f20", BEST_DIGITS, "a07d33e5", "e8b21f06"]


def test_a_table_without_the_optional_columns_is_read(tmp_path):
    table = ("CREATE TABLE manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, dataset_id, params_json, "
             "final_metrics_json)")
    columns = ("run_id", "timestamp", "dataset_id", "params_json", "final_metrics_json")
    db = _write(tmp_path / "lean.db", table, columns, [r for r in ROWS if r["run_id"] != "dead0bad"])
    store = ManifestStore(db)
    runs = {r.run_id: r for r in store.runs()}
    assert len(runs) == 6 and runs[BEST_DIGITS].metrics == {"val_accuracy": 0.97}
    assert runs[BEST_DIGITS].note == "" and runs[BEST_DIGITS].artifacts == ()
    assert len(store.fingerprint_rows()) == 6
    with pytest.raises(StoreError, match="has no note column"):
        store.flag_for_publishing(BEST_DIGITS)


def test_a_table_with_nothing_to_answer_from_is_refused(tmp_path):
    db = _write(tmp_path / "ids.db", "CREATE TABLE manifests (run_id TEXT PRIMARY KEY, git_hash)",
                ("run_id", "git_hash"), [{"run_id": "1c9e4f20", "git_hash": "9f1c2e7"}])
    with pytest.raises(StoreError, match="needs a run_id column and at least one of final_metrics_json"):
        ManifestStore(db).load()


def test_ask_answers_from_the_documented_db(documented_db, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "ask", "--json", "--db", str(documented_db),
                           "--index", str(tmp_path / "no-index"),
                           "--text", "Which run has the best validation accuracy on digits?"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.splitlines()[-1])
    assert answer["used_run_ids"][0] == BEST_DIGITS, answer
    assert BEST_DIGITS in answer["answer"] and "no runs" not in answer["answer"].lower()


def test_ask_on_a_db_none_of_whose_rows_can_be_read_says_why_and_stops(tmp_path):
    rows = [{"run_id": f"bad{i:05d}", "dataset_id": "digits", "final_metrics_json": "accuracy=0.9"} for i in range(3)]
    db = _write(tmp_path / "runs.db", DOCUMENTED_TABLE, COLUMNS, rows)
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "ask", "--db", str(db), "--index",
                           str(tmp_path / "no-index"), "--text", "Which run is best?"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("labvoice: error: ") and "none of its 3 runs can be read" in last
    assert "column final_metrics_json should hold a JSON object" in last and "Traceback" not in proc.stderr


@pytest.mark.parametrize("written, read", [
    ("2026-01-31T10:00:00.123456789Z", "2026-01-31T10:00:00.123456+00:00"),
    ("2026/01/31 10:00", "2026-01-31T10:00:00.000000+00:00"),
    ("2026-01-31 10:00:00 UTC", "2026-01-31T10:00:00.000000+00:00"),
    ("Sat Jan 31 10:00:00 2026", "2026-01-31T10:00:00.000000+00:00"),
    ("2026-01-31T12:00:00+0200", "2026-01-31T10:00:00.000000+00:00"),
    ("20260131", "2026-01-31T00:00:00.000000+00:00"),
    (1769853600000, "2026-01-31T10:00:00.000000+00:00"),          # epoch milliseconds (MLflow)
    ("31/01/2026", ""),                                             # day-first is ambiguous: not guessed
])
def test_timestamp_forms(tmp_path, written, read):
    row = {"run_id": "1c9e4f20", "timestamp": written, "final_metrics_json": json.dumps({"val_accuracy": 0.9})}
    (run,) = ManifestStore(_write(tmp_path / "runs.db", DOCUMENTED_TABLE, COLUMNS, [row])).runs()
    assert run.timestamp == read
