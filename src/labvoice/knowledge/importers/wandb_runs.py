"""Weights & Biases: run folders as `wandb` leaves them on disk, synced (`run-*`) or offline
(`offline-run-*`); SOURCE is a `wandb` folder, a folder holding one, or a single run folder.

Per run: the config (files/config.yaml, else the config records of the run's `.wandb` log), the summary
(files/wandb-summary.json, else the log's summary records) as final metrics, the history (the log's
history records) as curves, and from the log's run record the run's name, notes, tags, project and
group; files/wandb-metadata.json gives the program, git commit and Python version. Keys starting with
`_` are W&B's own and are left out. wandb 0.31 has no Python reader for the `.wandb` log (its Go core
reads it), so `_log_records` reads the framing (LevelDB's log format behind a W&B header) and wandb's
own protobuf messages parse the records; a log cut short (a crashed run) gives what it holds. Offline
runs have only the log (wandb writes files/config.yaml and wandb-summary.json for synced runs). The
dataset is a `dataset`-like config key. The run's key is `wandb run <run id>`.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from google.protobuf.message import DecodeError
from wandb.proto import wandb_internal_pb2      # the importers extra: imported here so the factory says so

from labvoice.knowledge.importers.base import (STEP_COUNTERS, ImportedRun, Skipped, SourceError, finite_metrics,
                                               guess_dataset)
from labvoice.knowledge.rows import as_number, parse_timestamp

log = logging.getLogger(__name__)

RUN_PREFIXES = ("run-", "offline-run-")
STEP_KEY = "_step"


def _own_key(key: str) -> bool:
    return key.startswith("_")


def _value(item) -> Any:
    try:
        return json.loads(item.value_json)
    except ValueError:
        return None


def _item_key(item) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


class _RunLog:
    """What a run's `.wandb` log holds: the run record, config and summary updates, history rows."""

    def __init__(self) -> None:
        self.name = self.notes = self.project = self.group = ""
        self.tags: tuple[str, ...] = ()
        self.started: datetime | None = None
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.curves: dict[str, list[tuple[float, float]]] = {}

    def _apply_config(self, config) -> None:
        for item in config.update:
            key = _item_key(item)
            if not _own_key(key):
                self.config[key] = _value(item)

    def add(self, record) -> None:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            self.name = run.display_name or self.name
            self.notes = run.notes or self.notes
            self.project, self.group = run.project or self.project, run.run_group or self.group
            self.tags = tuple(run.tags) or self.tags
            if run.HasField("start_time") and run.start_time.seconds:
                self.started = datetime.fromtimestamp(run.start_time.seconds, tz=timezone.utc)
            self._apply_config(run.config)
        elif kind == "config":
            self._apply_config(record.config)
        elif kind == "summary":
            for item in record.summary.update:
                key = _item_key(item)
                if not _own_key(key):
                    self.summary[key] = _value(item)
        elif kind == "history":
            values = {_item_key(item): _value(item) for item in record.history.item}
            step = as_number(values.get(STEP_KEY))
            if step is None and record.history.HasField("step"):
                step = float(record.history.step.num)
            for key, value in values.items():
                number = as_number(value)
                if not _own_key(key) and number is not None and step is not None:
                    self.curves.setdefault(key, []).append((step, number))


# The `.wandb` log: a 7-byte W&B header, then LevelDB's log format (32 KiB blocks; each record piece
# has a 7-byte header: CRC32C (4), length (2, little-endian), type (1: whole, 2: first, 3: middle,
# 4: last); a block's tail shorter than a header is padding). Each record is a protobuf `Record`.
LOG_MAGIC = b":W&B"
LOG_HEADER = 7
BLOCK = 32 * 1024
PIECE_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _log_records(data: bytes) -> Iterator[bytes]:
    """The records of a `.wandb` log's bytes; a log cut short (a crashed run) ends at its last whole record."""
    if not data.startswith(LOG_MAGIC):
        raise ValueError("not a W&B run log (no :W&B header)")
    pos, pending = LOG_HEADER, bytearray()
    while pos + PIECE_HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < PIECE_HEADER:          # padding at the end of a block
            pos += left_in_block
            continue
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        start, end = pos + PIECE_HEADER, pos + PIECE_HEADER + length
        if kind == 0 and length == 0:             # zero-filled rest of a block
            pos += left_in_block
            continue
        if end > len(data) or length > left_in_block - PIECE_HEADER:
            return                                # torn last record
        piece = data[start:end]
        pos = end
        if kind == FULL:
            pending.clear()
            yield bytes(piece)
        elif kind == FIRST:
            pending[:] = piece
        elif kind == MIDDLE and pending:
            pending += piece
        elif kind == LAST and pending:
            pending += piece
            yield bytes(pending)
            pending.clear()


def read_run_log(path: Path) -> _RunLog:
    """What a `.wandb` log holds, parsed with wandb's own protobuf messages."""
    found = _RunLog()
    for data in _log_records(path.read_bytes()):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(data)
        except DecodeError:
            log.info("%s: a record that is not a W&B record; the rest of the log is not read", path)
            break
        found.add(record)
    return found


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def _read_config(path: Path) -> dict[str, Any]:
    """files/config.yaml: `key: {value: ...}` (older files add `desc:`); W&B's own `_` keys left out."""
    if not path.is_file():
        return {}
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): (v.get("value") if isinstance(v, dict) and "value" in v else v)
            for k, v in raw.items() if not _own_key(str(k))}


class WandbImporter:
    kind = "wandb"
    expects = "a wandb folder (with run-* or offline-run-* folders), a folder holding one, or one run folder"

    def _run_folders(self, root: Path) -> list[Path]:
        if root.name.startswith(RUN_PREFIXES) and ((root / "files").is_dir() or any(root.glob("*.wandb"))):
            return [root]
        for folder in (root, root / "wandb"):
            if folder.is_dir():
                runs = sorted(d for d in folder.iterdir() if d.is_dir() and d.name.startswith(RUN_PREFIXES))
                if runs:
                    return runs
        raise SourceError(f"no W&B run folders in {root}; expected {self.expects}")

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        root = Path(source)
        if not root.is_dir():
            raise SourceError(f"wandb source {source} not found; expected {self.expects}")
        for folder in self._run_folders(root.resolve()):
            try:
                yield self._read(folder)
            except Exception as err:  # one unreadable run folder must not stop the others
                yield Skipped(folder.name, f"not readable: {err}")

    def _read(self, folder: Path) -> ImportedRun | Skipped:
        run_id = folder.name.rsplit("-", 1)[-1]
        files = folder / "files"
        logs = sorted(folder.glob("*.wandb"))
        run_log = read_run_log(logs[0]) if logs else _RunLog()
        config = _read_config(files / "config.yaml") or run_log.config
        summary = {k: v for k, v in _read_json(files / "wandb-summary.json").items() if not _own_key(k)}
        metadata = _read_json(files / "wandb-metadata.json")
        metrics = finite_metrics(summary or run_log.summary)
        curves = {k: tuple(sorted(points)) for k, points in run_log.curves.items()
                  if len(points) > 1 and k.lower() not in STEP_COUNTERS}
        if not metrics:        # no summary: the last history value of each metric
            metrics = {k: points[-1][1] for k, points in curves.items()}
        if not metrics and not config:
            return Skipped(folder.name, "no config, summary or history in it (is the run still starting?)")
        tags = {"project": run_log.project, "group": run_log.group, "labels": ", ".join(run_log.tags)}
        git = metadata.get("git") if isinstance(metadata.get("git"), dict) else {}
        return ImportedRun(
            source_key=f"wandb run {run_id}",
            location=str(folder),
            name=run_log.name,
            dataset_id=guess_dataset(config),
            started=run_log.started or parse_timestamp(metadata.get("startedAt")),
            params=config,
            metrics=metrics,
            curves=curves,
            tags={k: v for k, v in tags.items() if v},
            note=run_log.notes,
            git_hash=str(git.get("commit") or ""),
            program=str(metadata.get("program") or ""),
            python_version=str(metadata.get("python") or ""),
        )
