"""What every importer yields and the one interface they share.

An importer reads runs from another tracker (MLflow, W&B, TensorBoard) or a table (CSV, JSONL) and
yields them one at a time as typed `ImportedRun` values, or `Skipped` for an item it could not read;
`writer.py` turns them into `manifests` rows. An importer never touches the DB.

A source that cannot be read at all raises `SourceError` on the first `next()`: one line naming the
source and what was expected there.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Mapping, Protocol

from labvoice.knowledge.rows import as_number

# Names a run's dataset goes by in params, configs, tags and table columns, most specific first.
DATASET_KEYS = ("dataset_id", "dataset", "dataset_name", "data", "data_name", "task")
CURVE_STEP = "epoch"          # the step column of the curves CSV the runs panel's chart reads
# Counters logged beside the metrics (W&B history, TensorBoard scalars): steps, not results.
STEP_COUNTERS = frozenset({"epoch", "step", "global_step", "iteration", "trainer/global_step", "trainer_global_step"})


class SourceError(RuntimeError):
    """The import source is missing or is not what the importer reads; the message says what was expected."""


@dataclass(frozen=True)
class Skipped:
    """An item of the source that was not imported (a run, a file, a table row), and why."""

    what: str
    why: str


@dataclass(frozen=True)
class ImportedRun:
    """One run as read from its source, before it becomes a `manifests` row.

    `source_key` is built from the source's own id (`mlflow run <uuid>`, `wandb run <id>`, ...): it
    picks the run's stable labvoice id, so importing again updates the row instead of adding one.
    `location` says where it was read (a tracking URI, a folder, a file). `curves` maps a metric to
    its history as (step, value) pairs.
    """

    source_key: str
    location: str
    name: str = ""
    dataset_id: str = ""
    started: datetime | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    curves: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    note: str = ""
    url: str = ""
    git_hash: str = ""
    program: str = ""
    python_version: str = ""


class RunImporter(Protocol):
    """One per kind of source, chosen by name in `importers.make_importer`."""

    kind: str
    expects: str            # what SOURCE must be, for the error line and `--help`

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        """The source's runs, one at a time; SourceError on the first next() if it cannot be read."""
        ...


# --- helpers shared by the importers ---------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+")


def coerce(value: Any) -> Any:
    """A parameter value as its natural type: "0.01" -> 0.01, "32" -> 32, "true" -> True, "None" -> None.
    Trackers that store everything as text (MLflow params, CSV cells) need this for numeric questions."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", ""):
        return None
    if _INT.fullmatch(text):
        try:
            return int(text)
        except ValueError:
            return value
    try:
        number = float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def finite_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """Only the values that are finite numbers (numeric strings count); the rest is not a metric."""
    out = {}
    for key, value in values.items():
        if str(key).lower() in STEP_COUNTERS:
            continue
        number = as_number(value)
        if number is not None:
            out[str(key)] = number
    return out


def guess_dataset(*sources: Mapping[str, Any], fallback: str = "") -> str:
    """The dataset named under one of DATASET_KEYS in the first mapping that has one."""
    for source in sources:
        for key in DATASET_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return fallback
