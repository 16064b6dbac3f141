"""The record of writes from the outside: `main.py log` (a real process) lists every change with the
words that asked for it, newest first; `doctor` says how many there are and where to see them."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from labvoice.config import load_config
from labvoice.doctor import run_doctor
from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.log_run import build_manifest_row, insert_row
from labvoice.knowledge.store import ManifestStore, connect_rw

ROOT = Path(__file__).resolve().parents[1]


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=300)


def _db(path: Path) -> Path:
    conn = connect_rw(path)
    for run_id, note in (("cafe0001", "DO NOT PUBLISH yet"), ("cafe0002", None)):
        row = build_manifest_row(run_id=run_id, dataset_id="digits", params={"model": "mlp"},
                                 metrics={"val_accuracy": 0.9})
        insert_row(conn, {**row, "note": note})
    conn.close()
    return path


def test_log_lists_every_change_newest_first(tmp_path):
    db = _db(tmp_path / "runs.db")
    empty = _main("log", "--db", str(db))
    assert empty.returncode == 0 and "No changes recorded" in empty.stdout
    store = ManifestStore(db)
    store.flag_for_publishing("cafe0001", "flag the best digits run")
    store.flag_for_publishing("cafe0002", "flag run cafe0002")
    WriteJournal(db).undo_last("undo that")
    shown = _main("log", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()[1:]]
    assert len(lines) == 3
    assert "undo (undoes change 2) run cafe0002: 'PUBLISH' -> None" in lines[0] and "'undo that'" in lines[0]
    assert "flag run cafe0001: 'DO NOT PUBLISH yet' -> 'PUBLISH; DO NOT PUBLISH yet'" in lines[2]
    assert "'flag the best digits run'" in lines[2]
    as_json = [json.loads(line) for line in _main("log", "--db", str(db), "--json", "--limit", "1").stdout.splitlines()]
    assert [(r["action"], r["run_id"], r["before"], r["after"]) for r in as_json] == [("undo", "cafe0002", "PUBLISH", None)]


def test_doctor_counts_the_changes(tmp_path):
    db = _db(tmp_path / "runs.db")
    ManifestStore(db).unflag("cafe0001", "unflag it")                 # not flagged: nothing to record
    ManifestStore(db).flag_for_publishing("cafe0002", "flag it")
    out = io.StringIO()
    run_doctor(load_config(environ={}).replace(**{"paths.db": db}), as_json=True, out=out)
    writes = json.loads(out.getvalue())["database"]["writes"]
    assert writes["count"] == 1 and writes["last"].endswith("flag cafe0002") and writes["see"] == "labvoice log"
    text = io.StringIO()
    run_doctor(load_config(environ={}).replace(**{"paths.db": db}), out=text)
    assert "changes:   1 recorded" in text.getvalue() and "labvoice log" in text.getvalue()
