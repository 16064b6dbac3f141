"""The SQLite run-manifest store: schema, read-only queries, and the note edits (the only writes
besides log_run and the importers; each applied and recorded by the write journal, journal.py).

The `manifests` schema is fixed so existing databases open unchanged; reading is lenient about what
each column holds (see rows.py) and about optional columns a DB lacks. Reads go through a read-only
connection with a busy timeout; the DB is in WAL mode so a training job can log runs while the
assistant reads. Unreadable rows are skipped and counted; a DB where no row can be read is an error
that says which column held what.
"""
from __future__ import annotations

import re

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from labvoice.knowledge.errors import StoreError, WriteError  # noqa: F401 - re-exported
from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.notes import FLAG_ACTION, UNFLAG_ACTION, change_for
from labvoice.knowledge.rows import (RowError, iso_utc, parse_artifacts, parse_metrics, parse_params,
                                     parse_timestamp)

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
# Read when present (a DB may lack any optional column); run_id plus one of the answer columns is needed.
READ_COLUMNS = ("run_id", "timestamp", "dataset_id", "command", "params_json", "final_metrics_json",
                "artifacts_json", "note", "git_hash", "wandb_url")
ANSWER_COLUMNS = ("final_metrics_json", "params_json", "dataset_id")
BUSY_TIMEOUT_MS = 5000
CHECK_SAMPLE_ROWS = 200    # rows parsed by check_readable before it believes a DB is readable


@dataclass(frozen=True, slots=True)
class Run:
    """One parsed row of `manifests` (the heavy text columns are not loaded).

    `timestamp` is UTC ISO (`2026-11-30T12:14:17.000000+00:00`, "" when missing or unreadable) so runs
    order by comparing it; `time` is the same moment as a datetime. `params` has nested objects
    flattened to dotted keys; `metrics` only the finite numbers; `artifacts` the artifact paths.
    """

    run_id: str
    timestamp: str
    dataset_id: str
    command: str
    params: dict[str, Any]
    metrics: dict[str, float]
    artifacts: tuple[str, ...]
    note: str
    git_hash: str = ""
    wandb_url: str = ""
    time: datetime | None = None

    @property
    def model_kind(self) -> str:
        """The kind of model this run trained, from params (`model`, `model_type`, ...) or the command."""
        for key in MODEL_PARAM_KEYS:
            value = self.params.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        for key, value in self.params.items():    # nested or tool-specific keys: model.name, model_name_or_path
            if isinstance(value, str) and value.strip() and is_model_key(key):
                return value.strip()
        return ""

    @property
    def metrics_csv(self) -> str | None:
        """The artifact holding the per-epoch metric curves: a `*metrics.csv`, else the first `.csv`."""
        csvs = [path for path in self.artifacts if path.lower().endswith(".csv")]
        named = [path for path in csvs if path.lower().rsplit("/", 1)[-1].endswith("metrics.csv")]
        return (named or csvs or [None])[0]


MODEL_PARAM_KEYS = ("model", "model_type", "model_name", "estimator", "classifier", "algorithm",
                    "arch", "architecture", "model_kind")
# The same keys as trackers and configs nest or extend them: `model.name`, `model/arch`, `model_name_or_path`
# (Hugging Face), `backbone`, `model.backbone`, `network`.
_MODEL_KEY = re.compile(r"^(?:\w+_)?(?:model|arch|architecture|backbone|network|net|estimator|classifier|algorithm)"
                        r"(?:_(?:name|type|kind|arch|architecture|id|backbone|checkpoint|name_or_path|family))?$")


def is_model_key(key: str) -> bool:
    """Whether a parameter named `key` holds the model's name (checked after MODEL_PARAM_KEYS)."""
    return key in MODEL_PARAM_KEYS or bool(_MODEL_KEY.match(re.sub(r"[./\-]+", "_", key.lower())))


@dataclass
class LoadReport:
    runs: list[Run] = field(default_factory=list)
    skipped: int = 0
    skipped_reasons: list[str] = field(default_factory=list)


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise StoreError("db_missing",
                         f"manifests DB {path} not found; create the demo with `make demo` or pass --db PATH")
    if path.is_dir():
        raise StoreError("db_unusable",
                         f"manifests DB {path} is a folder, not a SQLite file; pass --db PATH to the .db file")
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header and header != b"SQLite format 3\x00":
        raise StoreError("db_unusable", f"{path} is not a SQLite database; pass --db PATH to a manifests .db file")
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
        raise StoreError("db_unusable",
                         f"{path} is not a usable SQLite database ({err}); pass --db PATH to a manifests .db") from None
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


def _text(row: dict, column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value)


def _parse_row(row: dict) -> Run:
    """A Run from one row (a dict of the columns the table has); RowError when it cannot be read."""
    run_id = _text(row, "run_id").strip()
    if not run_id:
        raise RowError("run_id", "a non-empty run id", "NULL or empty")
    moment = parse_timestamp(row.get("timestamp"))
    return Run(
        run_id=run_id,
        timestamp=iso_utc(moment),
        dataset_id=_text(row, "dataset_id").strip(),
        command=_text(row, "command"),
        params=parse_params(row.get("params_json")),
        metrics=parse_metrics(row.get("final_metrics_json")),
        artifacts=parse_artifacts(row.get("artifacts_json")),
        note=_text(row, "note"),
        git_hash=_text(row, "git_hash"),
        wandb_url=_text(row, "wandb_url"),
        time=moment,
    )


def _all_unreadable(path: Path, errors: list[tuple[str, RowError]]) -> StoreError:
    """The error for a DB with rows but none readable: the most common cause, with an example."""
    (column, expected), _count = Counter((err.column, err.expected) for _, err in errors).most_common(1)[0]
    run_id, example = next((rid, err) for rid, err in errors if err.column == column)
    return StoreError("db_unusable", f"{path}: none of its {len(errors)} runs can be read: column {column} should hold "
                      f"{expected}, but run {run_id or '(no id)'} holds {example.got}; "
                      "see the manifests schema in DESIGN.md")


class ManifestStore:
    """Read access to a manifests DB plus the note edits. Cheap to create; connects per call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def check(self) -> tuple[str, ...]:
        """The columns of `manifests` this DB has; StoreError with a clear line if it cannot serve as one."""
        conn = _connect_ro(self.path)
        try:
            cols = [r[1] for r in conn.execute("PRAGMA table_info(manifests)")]
        except sqlite3.DatabaseError as err:
            raise StoreError("db_unusable", f"{self.path} is not a SQLite database ({err}); "
                             "pass --db PATH to a manifests .db") from None
        finally:
            conn.close()
        if not cols:
            raise StoreError("db_unusable", f"{self.path} has no `manifests` table; is this a labvoice run DB? "
                             "create one by logging runs with labvoice.knowledge.log_run")
        if "run_id" not in cols or not any(c in cols for c in ANSWER_COLUMNS):
            raise StoreError("db_unusable", f"{self.path}: table `manifests` needs a run_id column and at least one of "
                             f"{', '.join(ANSWER_COLUMNS)}; it has {', '.join(cols)}")
        return tuple(cols)

    def check_readable(self, sample: int = CHECK_SAMPLE_ROWS) -> None:
        """check(), and that the runs can be read: cheap when they can (a sample of rows is parsed), and
        StoreError naming the column and what it should hold when none can (at start-up, not as an
        empty answer later)."""
        present = self.check()
        columns = tuple(c for c in READ_COLUMNS if c in present)
        conn = _connect_ro(self.path)
        try:
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM manifests LIMIT ?", (sample,)).fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError("db_unusable", f"cannot read {self.path}: {err}") from None
        finally:
            conn.close()
        for values in rows:
            try:
                _parse_row(dict(zip(columns, values)))
                return
            except RowError:
                continue
        if rows:
            self.load()          # the sample was all unreadable: the whole table decides (raises if none is)

    def _select(self, wanted: tuple[str, ...]) -> tuple[tuple[str, ...], list[tuple]]:
        present = self.check()
        columns = tuple(c for c in wanted if c in present)
        conn = _connect_ro(self.path)
        try:
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM manifests").fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError("db_unusable", f"cannot read {self.path}: {err}") from None
        finally:
            conn.close()
        return columns, rows

    def load(self) -> LoadReport:
        """All readable runs; unreadable rows are skipped and counted. A DB with rows of which none can
        be read raises StoreError naming the column and what it should hold."""
        columns, rows = self._select(READ_COLUMNS)
        report = LoadReport()
        errors: list[tuple[str, RowError]] = []
        for values in rows:
            row = dict(zip(columns, values))
            try:
                report.runs.append(_parse_row(row))
            except RowError as err:
                errors.append((_text(row, "run_id"), err))
                report.skipped_reasons.append(f"{_text(row, 'run_id')}: {err}")
        report.skipped = len(errors)
        if errors and not report.runs:
            raise _all_unreadable(self.path, errors)
        if report.skipped:
            log.warning("skipped %d unreadable run(s) in %s (first: %s)", report.skipped, self.path,
                        report.skipped_reasons[0])
        return report

    def runs(self) -> list[Run]:
        return self.load().runs

    def fingerprint_rows(self) -> dict[str, str]:
        """run_id -> a fingerprint of the row's content, to tell which runs changed (index builds)."""
        import hashlib

        _, rows = self._select(("run_id", "timestamp", "dataset_id", "command", "params_json",
                                "final_metrics_json", "artifacts_json", "note"))
        return {str(r[0]): hashlib.sha1("\x1f".join(str(v) for v in r).encode()).hexdigest()
                for r in rows}

    def set_note(self, run_id: str, note: str | None, words: str = "set note") -> None:
        """Replace a run's note (a whole new text the user gave); committed and recorded before this returns."""
        self.edit_note(run_id, lambda _old: note, words, "set_note")

    def flag_for_publishing(self, run_id: str, words: str = "flag for publishing") -> str | None:
        """Add the publish flag to the run's note, keeping what it said; returns the new note."""
        return self.edit_note(run_id, change_for(FLAG_ACTION), words, FLAG_ACTION)

    def unflag(self, run_id: str, words: str = "unflag") -> str | None:
        """Remove the publish flag from the run's note, keeping the rest; returns the new note."""
        return self.edit_note(run_id, change_for(UNFLAG_ACTION), words, UNFLAG_ACTION)

    def edit_note(self, run_id: str, change: Callable[[str | None], str | None], words: str = "edit note",
                  action: str = "set_note") -> str | None:
        """Read, change and write one run's note in a single write transaction (no lost update when
        two writers edit the same note), recorded in the write journal (journal.py) with `words`;
        committed before this returns the new note (None: no note)."""
        batch = self.journal().apply({run_id: change}, action, words)
        return batch.changes[0].after if batch.changes else self._note_of(run_id)

    def _note_of(self, run_id: str) -> str | None:
        conn = _connect_ro(self.path)
        try:
            row = conn.execute("SELECT note FROM manifests WHERE run_id = ?", (run_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else row[0]

    def journal(self) -> WriteJournal:
        """The record of writes beside this DB (and the one way to write a note)."""
        return WriteJournal(self.path)
