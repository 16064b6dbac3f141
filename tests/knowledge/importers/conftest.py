"""Helpers for the importer tests: run the real producers and `main.py`, read the DB with plain sqlite3."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCE_TIMEOUT_S = 600
MAIN_TIMEOUT_S = 300


def produce(kind: str, where: Path | str, count: int, env: dict | None = None) -> list[dict]:
    """Runs made by the tracker's own client (tests/knowledge/importers/producers.py) in a child process."""
    import os

    proc = subprocess.run([sys.executable, "-m", "tests.knowledge.importers.producers", kind, str(where), str(count)],
                          capture_output=True, text=True, cwd=ROOT, timeout=PRODUCE_TIMEOUT_S,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_main(*args: str, timeout: float = MAIN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def rows(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM manifests ORDER BY run_id")]
    finally:
        conn.close()


def labvoice_id(db: Path, kind: str, source_id: str) -> str:
    """The labvoice run id an imported run got, found by the source recorded in its `command`."""
    found = [r["run_id"] for r in rows(db) if (r["command"] or "").startswith(f"{kind} run {source_id} ")]
    assert len(found) == 1, (source_id, found)
    return found[0]


def ask(db: Path, question: str, tmp_path: Path) -> dict:
    """`main.py ask --json` on DB, with no knowledge index (answers come from the DB alone)."""
    proc = run_main("ask", "--json", "--db", str(db), "--index", str(tmp_path / "no-index"), "--text", question)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
