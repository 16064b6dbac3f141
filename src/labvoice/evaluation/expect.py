"""Ground truth for scenarios, computed from the manifests DB with plain SQL and Python only.

This is deliberately independent of labvoice's question parser and fact finder (it imports
neither): the evaluation checks them, so it must not repeat them. A query names its filters
explicitly (`dataset`, `model`) instead of parsing a question.

Query forms (`expect:` in a scenario, one key each):

    best:          {metric, dataset?, model?, k?: 1, order?: auto|max|min}   ordered, ties allowed
    compare:       {metric, models: [a, b], dataset?}   the best run of each model kind, any order
    note:          {contains: TEXT, dataset?, model?}   runs whose note contains TEXT (any case)
    param_of_best: {param, metric, dataset?, model?}    the best run; `{param_value}` is its value
    threshold:     {metric, above|below: X, dataset?, model?}
    most_recent:   {dataset?, model?}
    param_extreme: {param, largest?: true, dataset?, model?}   every run tied at the extreme
    count:         {dataset?, model?}                   the runs counted; `{count}` is how many
    no_runs:       true                                 the answer must name no run
    any:           true                                 no run expectation (bad input)
"""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

# A metric whose name contains one of these is minimised (losses, error rates, perplexity).
LOWER_IS_BETTER_WORDS = ("loss", "error", "perplexity", "ppl")
MODEL_KEYS = ("model", "model_type", "model_name", "estimator", "classifier", "algorithm", "arch")
TIE_TOLERANCE = 1e-12


class ExpectationError(ValueError):
    """A scenario's query cannot be resolved against this DB (names a metric it lacks, ...)."""


@dataclass(frozen=True)
class Row:
    run_id: str
    timestamp: str
    dataset: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    note: str

    @property
    def model(self) -> str:
        for key in MODEL_KEYS:
            value = self.params.get(key)
            if isinstance(value, str) and value:
                return value
        return ""


@dataclass(frozen=True)
class Expected:
    run_ids: tuple[str, ...] = ()
    ordered: bool = False
    no_runs: bool = False
    any_runs: bool = False            # no run expectation: a sensible, harmless answer is enough
    # Per expected position, every run that is as right as run_ids[i] (tied on the ranking value).
    accept: tuple[frozenset[str], ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)

    def acceptable(self) -> tuple[frozenset[str], ...]:
        return self.accept or tuple(frozenset({rid}) for rid in self.run_ids)


def _connect_ro(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True, timeout=5.0)


def read_rows(db: str | Path) -> list[Row]:
    """Every run whose JSON parses; metrics keep only finite numbers."""
    conn = _connect_ro(Path(db))
    try:
        raw = conn.execute("SELECT run_id, timestamp, dataset_id, params_json, final_metrics_json, note "
                           "FROM manifests").fetchall()
    finally:
        conn.close()
    rows = []
    for run_id, timestamp, dataset, params_json, metrics_json, note in raw:
        try:
            params = json.loads(params_json or "{}")
            metrics = json.loads(metrics_json or "{}")
        except json.JSONDecodeError:
            continue
        if not isinstance(params, dict) or not isinstance(metrics, dict):
            continue
        finite = {k: float(v) for k, v in metrics.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}
        rows.append(Row(str(run_id), str(timestamp or ""), str(dataset or ""), params, finite, str(note or "")))
    return rows


def db_checksum(db: str | Path) -> str:
    """SHA-256 of every row of `manifests` (all columns, ordered by run id): changes iff data does."""
    digest = hashlib.sha256()
    conn = _connect_ro(Path(db))
    try:
        for row in conn.execute("SELECT * FROM manifests ORDER BY run_id"):
            digest.update(json.dumps(row, default=str).encode())
    finally:
        conn.close()
    return digest.hexdigest()


def _as_set(value: Any) -> set[str] | None:
    if value is None:
        return None
    return {str(v) for v in value} if isinstance(value, (list, tuple)) else {str(value)}


def _select(rows: list[Row], spec: Mapping[str, Any]) -> list[Row]:
    datasets, models = _as_set(spec.get("dataset")), _as_set(spec.get("model"))
    return [r for r in rows if (datasets is None or r.dataset in datasets) and (models is None or r.model in models)]


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER_WORDS)


def _ranked(rows: list[Row], metric: str, order: str = "auto") -> list[Row]:
    with_metric = [r for r in rows if metric in r.metrics]
    if not with_metric:
        raise ExpectationError(f"no run has metric {metric!r} under these filters")
    ascending = lower_is_better(metric) if order == "auto" else order == "min"
    return sorted(with_metric, key=lambda r: r.metrics[metric], reverse=not ascending)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _tied(pool: list[Row], metric: str, best: Row) -> frozenset[str]:
    value = best.metrics[metric]
    return frozenset(r.run_id for r in pool if metric in r.metrics and abs(r.metrics[metric] - value) <= TIE_TOLERANCE)


def _best(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    metric, k = str(spec["metric"]), int(spec.get("k", 1))
    pool = _select(rows, spec)
    top = _ranked(pool, metric, str(spec.get("order", "auto")))[:k]
    return Expected(tuple(r.run_id for r in top), ordered=True, accept=tuple(_tied(pool, metric, r) for r in top),
                    values={"id": top[0].run_id, "ids": [r.run_id for r in top],
                            "value": top[0].metrics[metric], "values": [r.metrics[metric] for r in top]})


def _compare(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    metric = str(spec["metric"])
    pools = [_select(rows, {**spec, "model": model}) for model in spec["models"]]
    picked = [_ranked(pool, metric)[0] for pool in pools]
    return Expected(tuple(r.run_id for r in picked), ordered=False,
                    accept=tuple(_tied(pool, metric, r) for pool, r in zip(pools, picked)),
                    values={"ids": [r.run_id for r in picked], "id": picked[0].run_id,
                            "values": [r.metrics[metric] for r in picked]})


def _note(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    term = str(spec["contains"]).lower()
    hits = [r for r in _select(rows, spec) if term in r.note.lower()]
    return Expected(tuple(r.run_id for r in hits), no_runs=not hits, values={"ids": [r.run_id for r in hits],
                                                                              "count": len(hits)})


def _param_of_best(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    param, metric = str(spec["param"]), str(spec["metric"])
    pool = [r for r in _select(rows, spec) if _number(r.params.get(param)) is not None]
    best = _ranked(pool, metric)[0]
    return Expected((best.run_id,), ordered=True, accept=(_tied(pool, metric, best),),
                    values={"id": best.run_id, "param_value": best.params[param], "value": best.metrics[metric]})


def _threshold(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    metric = str(spec["metric"])
    if ("above" in spec) == ("below" in spec):
        raise ExpectationError("threshold needs exactly one of above/below")
    above = "above" in spec
    limit = float(spec["above" if above else "below"])
    hits = [r for r in _select(rows, spec) if metric in r.metrics
            and (r.metrics[metric] > limit if above else r.metrics[metric] < limit)]
    return Expected(tuple(r.run_id for r in hits), no_runs=not hits,
                    values={"ids": [r.run_id for r in hits], "count": len(hits)})


def _most_recent(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    pool = _select(rows, spec)
    if not pool:
        raise ExpectationError("no runs under these filters")
    latest = max(pool, key=lambda r: r.timestamp)
    return Expected((latest.run_id,), ordered=True, values={"id": latest.run_id})


def _param_extreme(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    param = str(spec["param"])
    valued = [(v, r) for r in _select(rows, spec) if (v := _number(r.params.get(param))) is not None]
    if not valued:
        raise ExpectationError(f"no run has a numeric parameter {param!r}")
    target = (max if spec.get("largest", True) else min)(v for v, _ in valued)
    tied = [r for v, r in valued if v == target]
    return Expected(tuple(r.run_id for r in tied), values={"ids": [r.run_id for r in tied], "id": tied[0].run_id,
                                                           "param_value": target, "count": len(tied)})


def _count(rows: list[Row], spec: Mapping[str, Any]) -> Expected:
    hits = _select(rows, spec)
    return Expected(tuple(r.run_id for r in hits), no_runs=not hits, values={"count": len(hits)})


RESOLVERS = {"best": _best, "compare": _compare, "note": _note, "param_of_best": _param_of_best,
             "threshold": _threshold, "most_recent": _most_recent, "param_extreme": _param_extreme,
             "count": _count}


def resolve(expect: Mapping[str, Any], rows: list[Row]) -> Expected:
    """Turn one `expect:` query into concrete run ids and mention values for this DB."""
    if len(expect) != 1:
        raise ExpectationError(f"expect needs exactly one query, got {sorted(expect)}")
    (name, spec), = expect.items()
    if name == "no_runs":
        return Expected(no_runs=True)
    if name == "any":
        return Expected(any_runs=True)
    if name not in RESOLVERS:
        raise ExpectationError(f"unknown query {name!r}; use one of {', '.join(sorted(RESOLVERS))}, no_runs, any")
    if not isinstance(spec, Mapping):
        raise ExpectationError(f"{name}: expected a mapping of settings")
    try:
        return RESOLVERS[name](rows, spec)
    except KeyError as err:
        raise ExpectationError(f"{name}: missing setting {err}") from None


def concrete(run_ids: tuple[str, ...] | None, ordered: bool, no_runs: bool) -> Expected:
    """The expectation of a scenario that names its run ids itself (JSONL files)."""
    if no_runs or run_ids == ():
        return Expected(no_runs=True)
    if run_ids is None:
        return Expected(any_runs=True)
    return Expected(tuple(run_ids), ordered=ordered, values={"ids": list(run_ids), "id": run_ids[0],
                                                             "count": len(run_ids)})
