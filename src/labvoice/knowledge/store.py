"""The SQLite run-manifest store: schema, read-only queries, and the one non-run write (a note).

The `manifests` schema is fixed so existing databases open unchanged. Reads go through a
read-only connection with a busy timeout; the DB is in WAL mode so a training job can log runs
while the assistant reads. Rows with malformed JSON or no metrics are skipped and counted.
"""
from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS manifests (
    run_id TEXT PRIMARY KEY,
    timestamp TEXT,
    git_hash TEXT,
    git_diff TEXT,
    command TEXT,
    python_version TEXT,
    pip_freeze TEXT,
    device_info TEXT,
    dataset_id TEXT,
    params_json TEXT,
    final_metrics_json TEXT,
    artifacts_json TEXT,
    wandb_url TEXT,
    note TEXT
)
"""
COLUMNS = ("run_id", "timestamp", "git_hash", "git_diff", "command", "python_version", "pip_freeze",
           "device_info", "dataset_id", "params_json", "final_metrics_json", "artifacts_json",
           "wandb_url", "note")
BUSY_TIMEOUT_MS = 5000


class StoreError(RuntimeError):
    """The manifests DB cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Run:
    """One parsed row of `manifests` (the heavy text columns are not loaded)."""

    run_id: str
    timestamp: str
    dataset_id: str
    command: str
    params: dict[str, Any]
    metrics: dict[str, float]
    artifacts: dict[str, Any]
    note: str
    git_hash: str = ""
    wandb_url: str = ""

    @property
    def model_kind(self) -> str:
        """The kind of model this run trained, from params (`model`, `model_type`, ...) or the command."""
        for key in MODEL_PARAM_KEYS:
            value = self.params.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""


MODEL_PARAM_KEYS = ("model", "model_type", "model_name", "estimator", "classifier", "algorithm",
                    "arch", "architecture", "model_kind")


@dataclass
class LoadReport:
    runs: list[Run] = field(default_factory=list)
    skipped: int = 0
    skipped_reasons: list[str] = field(default_factory=list)


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise StoreError(f"manifests DB {path} not found; create the demo with `make demo` or pass --db PATH")
    if path.is_dir():
        raise StoreError(f"manifests DB {path} is a folder, not a SQLite file; pass --db PATH to the .db file")
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header and header != b"SQLite format 3\x00":
        raise StoreError(f"{path} is not a SQLite database; pass --db PATH to a manifests .db file")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def connect_rw(path: Path) -> sqlite3.Connection:
    """A writable connection (log_run and set_note only): creates the table, turns on WAL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"{path} is not a usable SQLite database ({err}); pass --db PATH to a manifests .db") from None
    return conn


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a (WAL-mode) DB through SQLite's backup API; the source is opened read-only."""
    source = sqlite3.connect(f"file:{Path(src).resolve()}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return Path(dst)


def _parse_json(text: Any, what: str) -> dict:
    if text is None or text == "":
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


def _parse_row(row: sqlite3.Row) -> Run:
    params = _parse_json(row["params_json"], "params_json")
    raw_metrics = _parse_json(row["final_metrics_json"], "final_metrics_json")
    metrics = {}
    for key, value in raw_metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(float(value)):
            metrics[str(key)] = float(value)
    if not metrics:
        raise ValueError("no numeric final metrics")
    return Run(
        run_id=str(row["run_id"]),
        timestamp=str(row["timestamp"] or ""),
        dataset_id=str(row["dataset_id"] or ""),
        command=str(row["command"] or ""),
        params=params,
        metrics=metrics,
        artifacts=_parse_json(row["artifacts_json"], "artifacts_json"),
        note=str(row["note"] or ""),
        git_hash=str(row["git_hash"] or ""),
        wandb_url=str(row["wandb_url"] or ""),
    )


class ManifestStore:
    """Read access to a manifests DB plus `set_note`. Cheap to create; connects per call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def check(self) -> None:
        """Raise StoreError with a clear line if the DB cannot be read as a manifests DB."""
        conn = _connect_ro(self.path)
        try:
            cols = [r[1] for r in conn.execute("PRAGMA table_info(manifests)")]
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path} is not a SQLite database ({err}); pass --db PATH to a manifests .db") from None
        finally:
            conn.close()
        if not cols:
            raise StoreError(f"{self.path} has no `manifests` table; is this a labvoice run DB? "
                             "create one by logging runs with labvoice.knowledge.log_run")
        missing = [c for c in COLUMNS if c not in cols]
        if missing:
            raise StoreError(f"{self.path}: table `manifests` lacks columns {', '.join(missing)}; "
                             "it must have the labvoice manifest schema")

    def load(self) -> LoadReport:
        """All readable runs; malformed rows are skipped and counted, never raised."""
        self.check()
        conn = _connect_ro(self.path)
        conn.row_factory = sqlite3.Row
        report = LoadReport()
        try:
            rows = conn.execute(
                "SELECT run_id, timestamp, dataset_id, command, params_json, final_metrics_json, "
                "artifacts_json, note, git_hash, wandb_url FROM manifests").fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot read {self.path}: {err}") from None
        finally:
            conn.close()
        for row in rows:
            try:
                report.runs.append(_parse_row(row))
            except (ValueError, TypeError) as err:
                report.skipped += 1
                report.skipped_reasons.append(f"{row['run_id']}: {err}")
        if report.skipped:
            log.warning("skipped %d malformed run(s) in %s (first: %s)", report.skipped, self.path,
                        report.skipped_reasons[0])
        return report

    def runs(self) -> list[Run]:
        return self.load().runs

    def fingerprint_rows(self) -> dict[str, str]:
        """run_id -> a fingerprint of the row's content, to tell which runs changed (index builds)."""
        import hashlib

        self.check()
        conn = _connect_ro(self.path)
        try:
            rows = conn.execute(
                "SELECT run_id, timestamp, dataset_id, command, params_json, final_metrics_json, "
                "artifacts_json, note FROM manifests").fetchall()
        finally:
            conn.close()
        return {str(r[0]): hashlib.sha1("\x1f".join(str(v) for v in r).encode()).hexdigest()
                for r in rows}

    def set_note(self, run_id: str, note: str) -> None:
        """The only write besides log_run: committed before this returns."""
        self.check()
        conn = connect_rw(self.path)
        try:
            with conn:
                cur = conn.execute("UPDATE manifests SET note = ? WHERE run_id = ?", (note, run_id))
            if cur.rowcount == 0:
                raise StoreError(f"no run with id {run_id!r} in {self.path}")
        finally:
            conn.close()
