"""What the query layer knows about one loaded list of runs, built once per list: the vocabulary
(metrics, parameters with their values, datasets, model kinds), NumPy columns per metric and
parameter for fast filtering and ranking on 100,000 runs, and which metrics are minimised or stored
as percentages.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run
from labvoice.knowledge.vocab import Vocabulary

LOWER_BETTER_TOKENS = {"loss", "error", "err", "mse", "rmse", "mae", "mape", "ppl", "perplexity", "wer", "cer",
                       "time", "latency", "seconds", "sec", "secs", "duration", "nll", "bpb", "bpc", "runtime",
                       "memory", "mem"}
PERCENT_TOKENS = {"acc", "accuracy", "f1", "precision", "recall", "auc", "pct", "percent"}
MAX_CATEGORY_VALUES = 40   # a string parameter with more distinct values is free text, not a category


def name_parts(name: str) -> list[str]:
    return [p.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for p in re.findall(r"[A-Za-z]+|\d+", part)]


def lower_is_better(metric: str) -> bool:
    return any(p in LOWER_BETTER_TOKENS for p in name_parts(metric))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class Catalog:
    runs: list[Run]
    vocab: Vocabulary
    metric_columns: dict[str, np.ndarray]
    param_columns: dict[str, np.ndarray]          # numeric parameters (NaN where absent)
    category_values: dict[str, tuple[str, ...]]   # string parameters -> their values
    datasets: np.ndarray                          # object array of dataset ids
    kinds: np.ndarray                             # object array of model kinds
    times: np.ndarray                             # seconds since the epoch (NaN when unknown)
    order: np.ndarray                             # run indices in logging order (oldest first)
    percent_metrics: frozenset[str]
    by_id: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None

    @classmethod
    def build(cls, runs: list[Run], vocab: Vocabulary | None = None) -> "Catalog":
        n = len(runs)
        metrics: dict[str, np.ndarray] = {}
        params: dict[str, np.ndarray] = {}
        categories: dict[str, dict[str, None]] = {}
        datasets = np.empty(n, dtype=object)
        kinds = np.empty(n, dtype=object)
        times = np.full(n, np.nan)
        for i, run in enumerate(runs):
            datasets[i] = run.dataset_id
            kinds[i] = run.model_kind
            moment = getattr(run, "time", None)
            if moment is not None:
                times[i] = moment.timestamp()
            for key, value in run.metrics.items():
                col = metrics.get(key)
                if col is None:
                    col = metrics[key] = np.full(n, np.nan)
                col[i] = value
            for key, value in run.params.items():
                number = _number(value)
                if number is not None:
                    col = params.get(key)
                    if col is None:
                        col = params[key] = np.full(n, np.nan)
                    col[i] = number
                elif isinstance(value, str) and value and key not in MODEL_PARAM_KEYS and key != "dataset":
                    seen = categories.setdefault(key, {})
                    if len(seen) <= MAX_CATEGORY_VALUES:
                        seen[value] = None
        if np.isnan(times).all() and n:
            # no parsed times: fall back to the ISO text, which sorts in time order
            stamps = np.array([r.timestamp for r in runs], dtype=object)
            rank = np.argsort(stamps, kind="stable")
            order = rank
        else:
            order = np.lexsort((np.array([r.run_id for r in runs], dtype=object), np.nan_to_num(times, nan=-np.inf)))
        percent = set()
        for key, col in metrics.items():
            if any(p in PERCENT_TOKENS for p in name_parts(key)):
                finite = col[np.isfinite(col)]
                if finite.size and finite.max() > 1.0 and finite.min() >= 0 and finite.max() <= 100.0:
                    percent.add(key)
        return cls(runs=runs, vocab=vocab or Vocabulary.from_runs(runs), metric_columns=metrics,
                   param_columns=params,
                   category_values={k: tuple(v) for k, v in categories.items() if len(v) <= MAX_CATEGORY_VALUES},
                   datasets=datasets, kinds=kinds, times=times, order=order, percent_metrics=frozenset(percent),
                   by_id={r.run_id: i for i, r in enumerate(runs)})

    # --- names ----------------------------------------------------------------------------------
    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.metric_columns, key=lambda k: (-int(np.isfinite(self.metric_columns[k]).sum()), k)))

    @property
    def param_names(self) -> tuple[str, ...]:
        names = list(self.param_columns) + [k for k in self.category_values if k not in self.param_columns]
        return tuple(sorted(names))

    @property
    def dataset_names(self) -> tuple[str, ...]:
        return tuple(sorted({d for d in self.datasets if d}))

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(sorted({k for k in self.kinds if k}))

    def headline_metric(self) -> str | None:
        return self.vocab.headline_metric() or (self.metric_names[0] if self.metric_names else None)

    def lower_better(self, metric: str) -> bool:
        return lower_is_better(metric)

    def column(self, kind: str, name: str | None) -> np.ndarray | None:
        if kind == "metric":
            return self.metric_columns.get(name or "")
        if kind == "param":
            return self.param_columns.get(name or "")
        if kind == "time":
            return self.times
        return None

    def param_value(self, index: int, name: str) -> Any:
        return self.runs[index].params.get(name)

    def logged_position(self, position: int) -> int | None:
        """The run index of the `position`-th run logged (1-based), or None."""
        if 1 <= position <= len(self.order):
            return int(self.order[position - 1])
        return None

    def reference_now(self) -> datetime:
        return self.now or datetime.now(timezone.utc)
