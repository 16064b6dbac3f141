"""Ground truth for the query suite, computed with plain sqlite3, json and Python over a manifests DB.

Deliberately independent of labvoice's reader, parser and executor (it imports none of them): the
suite checks those, so it must not repeat them. `TruthRow` is this module's own reading of a row.
"""
from __future__ import annotations

import json
import math
import sqlite3
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

MODEL_KEYS = ("model", "model_type", "model_name", "estimator", "classifier", "algorithm", "arch",
              "architecture", "model_kind")
LOWER_WORDS = ("loss", "error", "time", "perplexity")


@dataclass(frozen=True)
class TruthRow:
    run_id: str
    time: datetime | None
    dataset: str
    model: str
    params: dict
    metrics: dict
    note: str


def _json(text: Any) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def read_truth_rows(db: Path) -> list[TruthRow]:
    conn = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
    try:
        raw = conn.execute("SELECT run_id, timestamp, dataset_id, params_json, final_metrics_json, note "
                           "FROM manifests").fetchall()
    finally:
        conn.close()
    rows = []
    for run_id, stamp, dataset, params_json, metrics_json, note in raw:
        params = _json(params_json) or {}
        metrics = {k: float(v) for k, v in (_json(metrics_json) or {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        moment = None
        if stamp:
            moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
        model = next((params[k] for k in MODEL_KEYS if isinstance(params.get(k), str) and params[k]), "")
        rows.append(TruthRow(str(run_id), moment, dataset or "", model, params, metrics, note or ""))
    return rows


def lower_better(metric: str) -> bool:
    return any(w in metric.lower() for w in LOWER_WORDS)


def where(rows: Iterable[TruthRow], dataset: str | None = None, model: str | None = None,
          test: Callable[[TruthRow], bool] | None = None) -> list[TruthRow]:
    return [r for r in rows if (dataset is None or r.dataset == dataset) and (model is None or r.model == model)
            and (test is None or test(r))]


def ranked(rows: list[TruthRow], metric: str, best: bool = True) -> list[TruthRow]:
    have = [r for r in rows if metric in r.metrics]
    descending = (not lower_better(metric)) == best
    return sorted(have, key=lambda r: -r.metrics[metric] if descending else r.metrics[metric])


def by_time(rows: list[TruthRow], latest: bool = True) -> list[TruthRow]:
    have = [r for r in rows if r.time is not None]
    return sorted(have, key=lambda r: r.time, reverse=latest)


def numeric_param(row: TruthRow, name: str) -> float | None:
    v = row.params.get(name)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def group_values(rows: list[TruthRow], key: Callable[[TruthRow], Any], metric: str, how: str) -> dict[Any, float]:
    groups: dict[Any, list[float]] = {}
    for r in rows:
        k = key(r)
        if k is None or k == "" or metric not in r.metrics:
            continue
        groups.setdefault(k, []).append(r.metrics[metric])
    fn = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max,
          "std": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0}[how]
    return {k: fn(v) for k, v in groups.items()}


def average_ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float | None:
    rx, ry = average_ranks(xs), average_ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den else None


def quartiles(values: list[float]) -> dict[str, float]:
    """Linear-interpolated quartiles (the usual definition)."""
    s = sorted(values)

    def q(p: float) -> float:
        pos = (len(s) - 1) * p
        lo = math.floor(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    return {"min": s[0], "q1": q(0.25), "median": q(0.5), "q3": q(0.75), "max": s[-1]}
