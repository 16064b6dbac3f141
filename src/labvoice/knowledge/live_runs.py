"""The runs of one manifests DB in memory, kept current while the app runs, without re-reading all of them.

Answers must see a run seconds after it is logged or imported, with no restart and no index rebuild
(facts come from the runs, not from the index), on DBs of 100,000 runs where parsing every row takes
seconds. So a refresh, done when the DB file or its WAL changed on disk (`db_signature`), reads the
raw columns of every row in one SELECT in rowid order (no JSON parsing), walks it beside what it
read last time (rowid and a hash of the row's values, kept in two 8-byte arrays) and parses only the
rows that are new or changed; rows that vanished drop out. Each refresh publishes a new immutable
`RunSnapshot`; a reader keeps the one it holds. Everything derived from the runs (the vocabulary, a
fact finder) is cached on the snapshot, so it is built once per DB change, not once per question.
One `LiveRuns` per DB file is shared in a process (`shared_runs`): the answers, the index check at
start-up and the window's chart read the same runs.

Strings that repeat across runs (dataset ids, model kinds, parameter and metric names) are interned,
so 100,000 runs hold one copy of each name instead of 100,000.
"""
from __future__ import annotations

import functools
import logging
import os
import sqlite3
import sys
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from labvoice.knowledge.rows import RowError
from labvoice.knowledge.store import (READ_COLUMNS, ManifestStore, Run, StoreError, _all_unreadable,
                                      _connect_ro, _parse_row)

log = logging.getLogger(__name__)

FETCH_ROWS = 5000              # rows per fetchmany: bounds the raw text held at once
SHARED_STORES = 4              # DBs whose runs stay shared in one process (app + index check)
_INTERNED_COLUMNS = ("dataset_id",)
INTERN_MAX_CHARS = 64          # string parameter values up to this long repeat across runs (model kinds, ...)


def db_signature(path: Path) -> tuple:
    """Changes whenever a write lands in the DB: mtime and size of the file and of its WAL. An empty
    WAL counts as none: opening a WAL-mode DB (our own reads too) creates one, and every commit
    either grows the WAL or, at a checkpoint, rewrites the DB file."""
    sig = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            sig.append(None)
            continue
        sig.append(None if suffix and st.st_size == 0 else (st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(sig)


@dataclass(frozen=True, eq=False)
class RefreshStats:
    """What one refresh did: rows scanned, rows parsed (new or changed), rows dropped, seconds."""

    scanned: int
    parsed: int
    removed: int
    seconds: float


@dataclass(frozen=True, eq=False)
class RunSnapshot:
    """The readable runs of a DB at one moment (in table order) and what was derived from them.

    `derived(key, build)` caches anything computed from the runs (vocabulary, fact finder) for the
    life of this snapshot, i.e. until the DB changes.
    """

    runs: list[Run]
    skipped: int
    skipped_reasons: tuple[str, ...]
    signature: tuple
    version: int
    stats: RefreshStats

    def __post_init__(self) -> None:
        object.__setattr__(self, "_derived", {})
        object.__setattr__(self, "_derived_lock", threading.Lock())

    def derived(self, key: str, build: Callable[[list[Run]], Any]) -> Any:
        with self._derived_lock:  # type: ignore[attr-defined]
            cache = self._derived  # type: ignore[attr-defined]
            if key not in cache:
                cache[key] = build(self.runs)
            return cache[key]

    @property
    def vocab(self):
        from labvoice.knowledge.vocab import Vocabulary

        return self.derived("vocab", Vocabulary.from_runs)


def _interned(run: Run) -> Run:
    """The run with its names and short string values interned. The run was made by this refresh and
    nobody else holds it yet, so its dicts are swapped in place rather than copying the frozen Run."""
    intern = sys.intern
    params = {intern(k): intern(v) if isinstance(v, str) and len(v) <= INTERN_MAX_CHARS else v
              for k, v in run.params.items()}
    object.__setattr__(run, "params", params)
    object.__setattr__(run, "metrics", {intern(k): v for k, v in run.metrics.items()})
    return run


@dataclass(frozen=True, eq=False)
class _Rows:
    """What the last refresh read, in rowid order: rowids and row hashes as 8-byte arrays, and per
    row its Run or its (run id, RowError). About 24 bytes per row besides the runs themselves."""

    rowids: array
    hashes: array
    entries: list

    @classmethod
    def empty(cls) -> "_Rows":
        return cls(array("q"), array("q"), [])


class LiveRuns:
    """The runs of one DB, refreshed incrementally when the file changes; see the module docstring."""

    def __init__(self, store: ManifestStore | str | os.PathLike) -> None:
        self.store = store if isinstance(store, ManifestStore) else ManifestStore(store)
        self._lock = threading.Lock()
        self._snapshot: RunSnapshot | None = None
        self._rows = _Rows.empty()

    @property
    def path(self) -> Path:
        return self.store.path

    def snapshot(self) -> RunSnapshot:
        """The current runs; refreshes first when the DB changed on disk since the last call."""
        with self._lock:
            signature = db_signature(self.store.path)
            if self._snapshot is None or signature != self._snapshot.signature:
                self._snapshot = self._refresh(signature)
            return self._snapshot

    def _refresh(self, signature: tuple) -> RunSnapshot:
        """One scan in rowid order, walked beside the previous scan (also in rowid order): a row whose
        rowid and hash match is reused, any other is parsed; previous rowids passed over are gone."""
        started = time.perf_counter()
        present = self.store.check()
        columns = tuple(c for c in READ_COLUMNS if c in present)
        interned = [i for i, c in enumerate(columns) if c in _INTERNED_COLUMNS]
        old, new = self._rows, _Rows.empty()
        old_ids, old_hashes, old_entries, at, total_old = old.rowids, old.hashes, old.entries, 0, len(old.rowids)
        runs: list[Run] = []
        errors: list[tuple[str, RowError]] = []
        parsed = removed = 0
        conn = _connect_ro(self.store.path)
        try:
            cursor = self._scan(conn, columns)
            position = 0
            while True:
                batch = cursor.fetchmany(FETCH_ROWS)
                if not batch:
                    break
                for raw in batch:
                    position += 1
                    rowid, digest = raw[0] if raw[0] is not None else position, hash(raw)
                    while at < total_old and old_ids[at] < rowid:
                        at, removed = at + 1, removed + 1
                    entry = None
                    if at < total_old and old_ids[at] == rowid:
                        entry = old_entries[at] if old_hashes[at] == digest else None
                        at += 1
                    if entry is None:
                        entry = self._parse(raw, columns, interned)
                        parsed += 1
                    new.rowids.append(rowid)
                    new.hashes.append(digest)
                    new.entries.append(entry)
                    if isinstance(entry, Run):
                        runs.append(entry)
                    else:
                        errors.append(entry)
        except sqlite3.DatabaseError as err:
            raise StoreError("db_unusable", f"cannot read {self.store.path}: {err}") from None
        finally:
            conn.close()
        if errors and not runs:
            raise _all_unreadable(self.store.path, errors)
        self._rows = new
        reasons = [f"{run_id}: {err}" for run_id, err in errors]
        if reasons and (self._snapshot is None or len(reasons) != self._snapshot.skipped):
            log.warning("skipped %d unreadable run(s) in %s (first: %s)", len(reasons), self.store.path, reasons[0])
        stats = RefreshStats(scanned=len(new.rowids), parsed=parsed, removed=removed + total_old - at,
                             seconds=time.perf_counter() - started)
        version = self._snapshot.version + 1 if self._snapshot else 1
        log.debug("runs of %s refreshed: %s", self.store.path, stats)
        return RunSnapshot(runs, len(reasons), tuple(reasons), signature, version, stats)

    @staticmethod
    def _scan(conn: sqlite3.Connection, columns: tuple[str, ...]) -> sqlite3.Cursor:
        """Rows in rowid order; a table without rowids (or a view) in its own order, keyed by position."""
        try:
            return conn.execute(f"SELECT rowid, {', '.join(columns)} FROM manifests ORDER BY rowid")
        except sqlite3.OperationalError:
            return conn.execute(f"SELECT NULL, {', '.join(columns)} FROM manifests")

    @staticmethod
    def _parse(raw: tuple, columns: tuple[str, ...], interned: list[int]) -> Run | tuple[str, RowError]:
        values = list(raw[1:])
        for i in interned:
            if isinstance(values[i], str):
                values[i] = sys.intern(values[i].strip())
        row = dict(zip(columns, values))
        try:
            return _interned(_parse_row(row))
        except RowError as err:
            return ("" if row.get("run_id") is None else str(row["run_id"]), err)


@functools.lru_cache(maxsize=SHARED_STORES)
def _shared(path: Path) -> LiveRuns:
    return LiveRuns(path)


def shared_runs(path: str | os.PathLike) -> LiveRuns:
    """One LiveRuns per DB file in this process, so the app's answers and its index check share the
    runs in memory instead of loading 100,000 runs twice."""
    return _shared(Path(path).resolve())
