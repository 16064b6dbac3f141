"""What the query layer knows about one loaded list of runs, built once per list: the vocabulary
(metrics, parameters with their values, datasets, model kinds), NumPy columns per metric and
parameter for fast filtering and ranking on 100,000 runs, and which metrics are minimised or stored
as percentages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from labvoice.knowledge.lexicon import lexicon, name_parts, name_tokens  # noqa: F401 - name_parts re-exported
from labvoice.knowledge.query.names import NameIndex
from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run, is_model_key
from labvoice.knowledge.vocab import Vocabulary

MAX_CATEGORY_VALUES = 40   # a string parameter with more distinct values is free text, not a category


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of `metric` are better (the lexicon's minimised words: loss, ece, brier...)."""
    return lexicon().direction(metric)[0]


def direction_known(metric: str) -> bool:
    """Whether the lexicon knows which way `metric` is better (else the answer says it took higher)."""
    return lexicon().direction(metric)[1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class Catalog:
    runs: list[Run]
    vocab: Vocabulary | None
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
    _implied: dict[str, list[str]] | None = field(default=None, init=False, repr=False)   # built on first use
    _sorted_ids: list[str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, runs: list[Run], vocab: Vocabulary | None = None) -> "Catalog":
        """One pass over the runs: values are collected per name, then turned into columns at once."""
        n = len(runs)
        metric_idx: dict[str, list[int]] = {}
        metric_val: dict[str, list[float]] = {}
        param_idx: dict[str, list[int]] = {}
        param_val: dict[str, list[float]] = {}
        categories: dict[str, dict[str, None]] = {}
        datasets = [""] * n
        kinds = [""] * n
        times = np.full(n, np.nan)
        skip = set(MODEL_PARAM_KEYS) | {"dataset"}
        informative: set[str] = set()     # string parameters that say more than the run's dataset id
        for i, run in enumerate(runs):
            datasets[i] = run.dataset_id
            kinds[i] = run.model_kind
            moment = run.time
            if moment is not None:
                times[i] = moment.timestamp()
            for key, value in run.metrics.items():
                if key in metric_idx:
                    metric_idx[key].append(i)
                    metric_val[key].append(value)
                else:
                    metric_idx[key], metric_val[key] = [i], [value]
            for key, value in run.params.items():
                kind = type(value)
                if kind is float or kind is int:
                    if key in param_idx:
                        param_idx[key].append(i)
                        param_val[key].append(value)
                    else:
                        param_idx[key], param_val[key] = [i], [value]
                elif kind is str and value and key not in skip and not is_model_key(key):
                    seen = categories.setdefault(key, {})
                    if len(seen) <= MAX_CATEGORY_VALUES:
                        seen[value] = None
                    if value != run.dataset_id:
                        informative.add(key)

        def columns(idx: dict[str, list[int]], val: dict[str, list[float]]) -> dict[str, np.ndarray]:
            out = {}
            for key in idx:
                col = np.full(n, np.nan)
                col[np.asarray(idx[key], dtype=np.int64)] = np.asarray(val[key], dtype=float)
                col[~np.isfinite(col)] = np.nan
                out[key] = col
            return out

        metrics, params = columns(metric_idx, metric_val), columns(param_idx, param_val)
        dataset_arr = np.asarray(datasets, dtype=object)
        kind_arr = np.asarray(kinds, dtype=object)
        if n and np.isnan(times).all():
            order = np.argsort(np.asarray([r.timestamp for r in runs], dtype=object), kind="stable")
        else:
            order = np.lexsort((np.asarray([r.run_id for r in runs], dtype=object), np.nan_to_num(times, nan=-np.inf)))
        percent = set()
        for key, col in metrics.items():
            if any(lexicon().canon(p) in lexicon().percent_words for p in name_parts(key)):
                finite = col[np.isfinite(col)]
                if finite.size and finite.max() > 1.0 and finite.min() >= 0 and finite.max() <= 100.0:
                    percent.add(key)
        catalog = cls(runs=runs, vocab=vocab, metric_columns=metrics, param_columns=params,
                      category_values={k: tuple(v) for k, v in categories.items()
                                       if len(v) <= MAX_CATEGORY_VALUES and k in informative},
                      datasets=dataset_arr, kinds=kind_arr, times=times, order=order,
                      percent_metrics=frozenset(percent), by_id={r.run_id: i for i, r in enumerate(runs)})
        catalog._index_names()
        if catalog.vocab is None:
            catalog.vocab = Vocabulary(metrics=catalog.metric_names, datasets=catalog.dataset_names,
                                       model_kinds=catalog.kind_names,
                                       params=tuple(sorted(params, key=lambda k: (-len(param_idx[k]), k))),
                                       run_ids=frozenset(catalog.by_id))
        return catalog

    def _index_names(self) -> None:
        """Names, and integer codes for datasets and model kinds (fast grouping)."""
        counts = {k: int(np.isfinite(c).sum()) for k, c in self.metric_columns.items()}
        self._metric_names = tuple(sorted(self.metric_columns, key=lambda k: (-counts[k], k)))
        names = list(self.param_columns) + [k for k in self.category_values if k not in self.param_columns]
        self._param_names = tuple(sorted(names))
        self._dataset_values, self.dataset_codes = np.unique(self.datasets.astype(str), return_inverse=True)
        self._kind_values, self.kind_codes = np.unique(self.kinds.astype(str), return_inverse=True)
        self.dataset_index = NameIndex(self.dataset_names)
        self.kind_index = NameIndex(self.kind_names)

    # --- names ----------------------------------------------------------------------------------
    @property
    def metric_names(self) -> tuple[str, ...]:
        return self._metric_names

    @property
    def param_names(self) -> tuple[str, ...]:
        return self._param_names

    @property
    def dataset_names(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self._dataset_values if d)

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(str(k) for k in self._kind_values if k)

    def implied_split(self, metric: str) -> list[str]:
        """["train"] for a metric named without a split whose validation or test twin exists (Keras'
        `loss` beside `val_loss` is the training loss); else []."""
        if self._implied is None:
            tokens = {name_tokens(m): m for m in self.metric_names}
            self._implied = {m: ["train"] for toks, m in tokens.items()
                             if not set(toks) & {"val", "test", "train"}
                             and any(((split,) + toks) in tokens for split in ("val", "test"))}
        return self._implied.get(metric, [])

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Run ids starting with `prefix` (at most `limit`; binary search over the sorted ids)."""
        import bisect

        if self._sorted_ids is None:
            self._sorted_ids = sorted(self.by_id)
        i = bisect.bisect_left(self._sorted_ids, prefix)
        out = []
        while i < len(self._sorted_ids) and self._sorted_ids[i].startswith(prefix) and len(out) < limit:
            out.append(self._sorted_ids[i])
            i += 1
        return out

    def codes(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, code per run) for "dataset" or "model"."""
        return (self._dataset_values, self.dataset_codes) if kind == "dataset" else (self._kind_values, self.kind_codes)

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
