"""The write journal: every change the app makes to a run's note, applied and recorded in one
transaction, and undone exactly from the record (also after a restart: the record is in the DB).

The record is an append-only table `labvoice_writes` in the same SQLite file as `manifests` (whose
schema stays exactly as documented); triggers refuse UPDATE and DELETE on it. One row per changed
run: time (UTC ISO), run id, action (flag | unflag | set_note | undo), the note before and after
(NULL = no note), the words that asked for it, the batch (one request's rows share it) and, for an
undo, the batch it undid. A change that would change nothing (flagging a flagged run) writes and
records nothing.

Writers take the write lock first (`BEGIN IMMEDIATE`, WAL, a busy timeout), so a training script's
`log_run` or an importer writing at the same time neither loses nor is lost.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Literal, Mapping

from labvoice.knowledge.errors import WriteError

TABLE = "labvoice_writes"
BUSY_TIMEOUT_S = 30.0
JOURNAL_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch INTEGER NOT NULL,
    time TEXT NOT NULL,
    run_id TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    words TEXT NOT NULL,
    undoes INTEGER
)""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END""",
)
Action = Literal["flag", "unflag", "set_note", "undo"]
NoteChange = Callable[[str | None], str | None]


@dataclass(frozen=True, slots=True)
class Change:
    """One run's note before and after a write (None: no note)."""

    run_id: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Batch:
    """One request's writes. `changes` holds the runs whose note changed (recorded, in the order
    asked); `unchanged` the runs the request left as they were (already flagged, say). `batch` is 0
    when nothing changed (nothing was recorded)."""

    batch: int
    time: str
    action: Action
    words: str
    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    undoes: int | None = None

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(c.run_id for c in self.changes)


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One row of the record."""

    id: int
    batch: int
    time: str
    run_id: str
    action: str
    before: str | None
    after: str | None
    words: str
    undoes: int | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class WriteJournal:
    """Applies, records and undoes note writes on one manifests DB. Cheap to create; connects per call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # --- connections -------------------------------------------------------------------------------
    def _begin(self) -> sqlite3.Connection:
        """A connection holding the write lock, with the record table in place."""
        if not self.path.is_file():
            raise WriteError("not_a_db", f"manifests DB {self.path} not found; pass --db PATH")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in JOURNAL_SCHEMA:
                conn.execute(statement)
            columns = [r[1] for r in conn.execute("PRAGMA table_info(manifests)")]
        except sqlite3.DatabaseError as err:
            conn.close()
            raise WriteError("not_a_db", f"{self.path} is not a usable SQLite database ({err})") from None
        if "note" not in columns or "run_id" not in columns:
            conn.execute("ROLLBACK")
            conn.close()
            raise WriteError("no_note_column", f"{self.path}: table `manifests` has no note column; add it "
                             "with `ALTER TABLE manifests ADD COLUMN note TEXT`")
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The write lock held for one block: committed when it ends, rolled back when it raises."""
        conn = self._begin()
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def _read(self) -> sqlite3.Connection | None:
        """A read-only connection, or None when the DB or the record table does not exist yet."""
        if not self.path.is_file():
            return None
        conn = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
        if found is None:
            conn.close()
            return None
        return conn

    # --- writes ------------------------------------------------------------------------------------
    def apply(self, changes: Mapping[str, NoteChange], action: Action, words: str) -> Batch:
        """Change each run's note (run id -> a function of its note) and record it, all in one
        transaction: every run is changed or none is (WriteError "no_run" when one is missing)."""
        with self._transaction() as conn:
            done: list[Change] = []
            unchanged: list[str] = []
            for run_id, change in changes.items():
                row = conn.execute("SELECT note FROM manifests WHERE run_id = ?", (run_id,)).fetchone()
                if row is None:
                    raise WriteError("no_run", f"no run with id {run_id!r} in {self.path}")
                after = change(row[0])
                if after == row[0]:
                    unchanged.append(run_id)
                    continue
                conn.execute("UPDATE manifests SET note = ? WHERE run_id = ?", (after, run_id))
                done.append(Change(run_id, row[0], after))
            return self._record(conn, done, action, words, None, tuple(unchanged))

    def undo_last(self, words: str) -> Batch:
        """Put back what the latest write not yet undone found, exactly, and record that as an undo.
        WriteError "nothing_to_undo" when there is none; "changed_since" (and nothing restored) when a
        run's note was changed by something else after that write."""
        with self._transaction() as conn:
            target = conn.execute(
                f"SELECT MAX(batch) FROM {TABLE} WHERE action != 'undo' AND batch NOT IN "
                f"(SELECT undoes FROM {TABLE} WHERE undoes IS NOT NULL)").fetchone()[0]
            if target is None:
                raise WriteError("nothing_to_undo", "there is no change to undo")
            rows = conn.execute(f"SELECT run_id, before, after FROM {TABLE} WHERE batch = ? ORDER BY id",
                                (target,)).fetchall()
            done: list[Change] = []
            for run_id, before, after in rows:
                now = conn.execute("SELECT note FROM manifests WHERE run_id = ?", (run_id,)).fetchone()
                if now is None or now[0] != after:
                    raise WriteError("changed_since", f"run {run_id}'s note was changed after that write; "
                                     "nothing was undone")
                conn.execute("UPDATE manifests SET note = ? WHERE run_id = ?", (before, run_id))
                done.append(Change(run_id, after, before))
            return self._record(conn, done, "undo", words, target)

    def _record(self, conn: sqlite3.Connection, done: list[Change], action: Action, words: str,
                undoes: int | None, unchanged: tuple[str, ...] = ()) -> Batch:
        stamp = _now()
        if not done:
            return Batch(0, stamp, action, words, (), unchanged, undoes)
        batch = conn.execute(f"SELECT COALESCE(MAX(batch), 0) + 1 FROM {TABLE}").fetchone()[0]
        conn.executemany(
            f"INSERT INTO {TABLE} (batch, time, run_id, action, before, after, words, undoes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(batch, stamp, c.run_id, action, c.before, c.after, words, undoes) for c in done])
        return Batch(batch, stamp, action, words, tuple(done), unchanged, undoes)

    # --- reading the record ------------------------------------------------------------------------
    def records(self, limit: int | None = None) -> list[WriteRecord]:
        """The record, newest first (all of it, or the latest `limit` rows)."""
        conn = self._read()
        if conn is None:
            return []
        try:
            sql = f"SELECT id, batch, time, run_id, action, before, after, words, undoes FROM {TABLE} ORDER BY id DESC"
            rows = conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        finally:
            conn.close()
        return [WriteRecord(*row) for row in rows]

    def undoable(self) -> int | None:
        """The batch "undo that" would undo now, or None."""
        conn = self._read()
        if conn is None:
            return None
        try:
            return conn.execute(
                f"SELECT MAX(batch) FROM {TABLE} WHERE action != 'undo' AND batch NOT IN "
                f"(SELECT undoes FROM {TABLE} WHERE undoes IS NOT NULL)").fetchone()[0]
        finally:
            conn.close()


def format_record(record: WriteRecord) -> str:
    """One line of the record for people (the `log` command, the window)."""
    undo = f" (undoes change {record.undoes})" if record.undoes is not None else ""
    return (f"{record.time}  #{record.batch} {record.action}{undo} run {record.run_id}: "
            f"{record.before!r} -> {record.after!r}  asked: {record.words!r}")
