"""Imported runs into the `manifests` table: stable ids, upserts in batches, curves where the chart finds
them, and nothing that is already in the DB lost.

- Run id: 8 hex digits from a hash of the run's `source_key` (e.g. `mlflow run <uuid>`), the same on
  every import. The `command` column records where the run came from as `<source_key> from
  <location>`; that is how a later import recognises its own row. When the id is taken by another
  run (a logged one, or another source's), the next hash of the key is used: nothing is overwritten.
- Re-import updates the row's values and never its `note` (the user's words); the source's own note
  or description is only used when the row is first written.
- params_json: the source's parameters, plus `run_name` and `tags` (an object) when the source has
  them; final_metrics_json: finite final metrics; artifacts_json: the curves CSV first, then the
  source's artifact paths; wandb_url: the run's web page on its tracker, when it has one.
- Curves go to `<artifacts>/<run_id>/metrics.csv` (an `epoch` column, one column per metric), the
  file the runs panel's chart reads; it is written beside and renamed into place.
- Rows are written in transactions of BATCH_RUNS runs: a reader never sees half a batch, and an
  import that stops part-way keeps the batches it committed.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from labvoice.cancel import CancelToken
from labvoice.knowledge.importers.base import CURVE_STEP, ImportedRun, Skipped
from labvoice.knowledge.rows import iso_utc
from labvoice.knowledge.store import COLUMNS, StoreError, connect_rw

log = logging.getLogger(__name__)

BATCH_RUNS = 500
RUN_ID_HEX = 8
MAX_ID_TRIES = 64
CURVES_FILE = "metrics.csv"
# Columns an update rewrites: everything the source knows; never `note`, never the provenance columns
# that only log_run fills (git_diff, pip_freeze, device_info).
UPDATED_COLUMNS = ("timestamp", "git_hash", "command", "python_version", "dataset_id", "params_json",
                   "final_metrics_json", "artifacts_json", "wandb_url")


@dataclass
class ImportReport:
    kind: str
    source: str
    db: str
    added: int = 0
    updated: int = 0
    curves: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def runs(self) -> int:
        return self.added + self.updated

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        line = (f"imported {self.runs} {self.kind} run(s) from {self.source} into {self.db}: {self.added} new, "
                f"{self.updated} updated, {self.curves} with curves, {len(self.skipped)} skipped "
                f"({self.seconds:.1f} s, {self.runs_per_s:.0f} runs/s)")
        return line + (" - stopped early" if self.cancelled else "")

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "db": self.db, "added": self.added,
                "updated": self.updated, "curves": self.curves, "seconds": round(self.seconds, 3),
                "runs_per_s": round(self.runs_per_s, 1), "cancelled": self.cancelled,
                "skipped": [{"what": s.what, "why": s.why} for s in self.skipped]}


def candidate_ids(source_key: str) -> Iterable[str]:
    """The run ids a source key may take, in order: 8 hex digits with at least one letter and one digit
    (an all-digit id would be read as a number, an all-letter one as a word)."""
    for attempt in range(MAX_ID_TRIES):
        digest = hashlib.sha1(f"{source_key}#{attempt}".encode()).hexdigest()
        for start in range(0, len(digest) - RUN_ID_HEX + 1, RUN_ID_HEX):
            rid = digest[start:start + RUN_ID_HEX]
            if any(c.isdigit() for c in rid) and any(c.isalpha() for c in rid):
                yield rid


def _command(run: ImportedRun) -> str:
    command = f"{run.source_key} from {run.location}"
    return f"{command} ({run.program})" if run.program else command


def _owns(command: str | None, source_key: str) -> bool:
    return bool(command) and command.startswith(f"{source_key} from ")


def _write_curves(folder: Path, curves) -> Path | None:
    """`metrics.csv` with one row per step (steps of all metrics merged; a metric not logged at a step
    leaves its cell empty), written beside and renamed into place."""
    names = sorted(name for name, points in curves.items() if points)
    if not names:
        return None
    table: dict[float, dict[str, float]] = {}
    for name in names:
        for step, value in curves[name]:
            table.setdefault(float(step), {})[name] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CURVES_FILE
    partial = folder / f".{CURVES_FILE}.{os.getpid()}.tmp"
    with open(partial, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([CURVE_STEP, *names])
        for step in sorted(table):
            shown = int(step) if float(step).is_integer() else step
            writer.writerow([shown, *(repr(table[step][n]) if n in table[step] else "" for n in names)])
    os.replace(partial, path)
    return path.resolve()


class RunWriter:
    """Upserts ImportedRuns into one manifests DB; curves go under `artifacts_dir`."""

    def __init__(self, db: str | os.PathLike, artifacts_dir: str | os.PathLike) -> None:
        self.db = Path(db)
        self.artifacts_dir = Path(artifacts_dir)
        self.columns: tuple[str, ...] = ()            # the target table's columns (a lean table gets fewer)
        self._claimed: dict[str, str] = {}            # run id -> source key, within one write()

    def write(self, items: Iterable[ImportedRun | Skipped], report: ImportReport, progress: Any = None,
              cancel: CancelToken | None = None) -> ImportReport:
        """Consume the importer's stream into the DB. `progress` is a tqdm-like bar (update(n))."""
        started = time.perf_counter()
        conn = connect_rw(self.db)
        try:
            self.columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(manifests)"))
            if "run_id" not in self.columns or "command" not in self.columns:
                raise StoreError("db_unusable",
                                 f"{self.db}: table `manifests` lacks run_id or command; importing needs the "
                                 "documented schema")
            self._claimed = {}
            batch: list[ImportedRun] = []
            for item in items:
                if isinstance(item, Skipped):
                    report.skipped.append(item)
                    log.info("skipped %s: %s", item.what, item.why)
                    continue
                batch.append(item)
                if len(batch) >= BATCH_RUNS:
                    self._commit(conn, batch, report, progress)
                    batch = []
                if cancel is not None and cancel.cancelled:
                    report.cancelled = True
                    break
            if batch:
                self._commit(conn, batch, report, progress)
        finally:
            conn.close()
            report.seconds = time.perf_counter() - started
        return report

    def _existing(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for start in range(0, len(ids), 900):          # SQLite's limit on bound parameters
            chunk = ids[start:start + 900]
            marks = ", ".join("?" * len(chunk))
            for rid, command in conn.execute(f"SELECT run_id, command FROM manifests WHERE run_id IN ({marks})", chunk):
                found[rid] = command
        return found

    def _assign(self, conn: sqlite3.Connection, batch: list[ImportedRun]) -> list[tuple[str, bool]]:
        """(run id, already ours in the DB) per run: the first candidate id that is free or holds this key."""
        firsts = {run.source_key: next(iter(candidate_ids(run.source_key))) for run in batch}
        existing = self._existing(conn, list(set(firsts.values())))
        assigned = []
        for run in batch:
            first = firsts[run.source_key]
            for rid in itertools.chain([first], itertools.islice(candidate_ids(run.source_key), 1, None)):
                if rid not in existing and rid != firsts[run.source_key]:
                    existing.update(self._existing(conn, [rid]))
                claimed = self._claimed.get(rid)
                if claimed is not None and claimed != run.source_key:
                    continue
                if rid in existing and not _owns(existing[rid], run.source_key):
                    continue
                # a key seen earlier in this import (a repeated table row) updates the row written then
                assigned.append((rid, rid in existing or claimed == run.source_key))
                self._claimed[rid] = run.source_key
                break
            else:
                raise StoreError("db_unusable", f"no free run id for {run.source_key} in {self.db}")
        return assigned

    def _row(self, run: ImportedRun, rid: str) -> dict[str, Any]:
        curves_csv = _write_curves(self.artifacts_dir / rid, run.curves) if run.curves else None
        params = dict(run.params)
        if run.name and "run_name" not in params:
            params["run_name"] = run.name
        if run.tags and "tags" not in params:
            params["tags"] = dict(run.tags)
        artifacts = ([str(curves_csv)] if curves_csv else []) + [a for a in run.artifacts if a]
        return {
            "run_id": rid,
            "timestamp": iso_utc(run.started) or None,
            "git_hash": run.git_hash or None,
            "command": _command(run),
            "python_version": run.python_version or None,
            "dataset_id": run.dataset_id or None,
            "params_json": json.dumps(params, sort_keys=True, default=str),
            "final_metrics_json": json.dumps(dict(run.metrics), sort_keys=True),
            "artifacts_json": json.dumps(list(dict.fromkeys(artifacts))),
            "wandb_url": run.url or None,
            "note": run.note or None,
            "_curves": curves_csv is not None,
        }

    def _commit(self, conn: sqlite3.Connection, batch: list[ImportedRun], report: ImportReport, progress) -> None:
        with conn:                                    # one transaction per batch
            for run, (rid, exists) in zip(batch, self._assign(conn, batch)):
                row = self._row(run, rid)
                report.curves += row.pop("_curves")
                if exists:
                    cols = [c for c in UPDATED_COLUMNS if c in self.columns]
                    conn.execute(f"UPDATE manifests SET {', '.join(f'{c} = ?' for c in cols)} WHERE run_id = ?",
                                 [row[c] for c in cols] + [rid])
                    report.updated += 1
                else:
                    cols = [c for c in COLUMNS if c in self.columns]
                    conn.execute(f"INSERT INTO manifests ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                 [row.get(c) for c in cols])
                    report.added += 1
        if progress is not None:
            progress.update(len(batch))
