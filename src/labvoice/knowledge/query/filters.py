"""Filters from the words of a question: names said (datasets, model kinds, parameter values, each
kept or excluded), comparators bound to the metric or parameter they are about (durations converted to
the metric's own unit, percentages to how the metric is stored), parameters set to a number, and time
ranges; and the metric a question means when it names none (the headline metric of the runs the
filters keep). Used by the composer.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from labvoice.knowledge.lexicon import lexicon
from labvoice.knowledge.query.catalog import Catalog, lower_is_better
from labvoice.knowledge.query.execute import Executor
from labvoice.knowledge.query.extract import Condition, Slots
from labvoice.knowledge.query.mentions import Mention
from labvoice.knowledge.query.model import Field, Filter
from labvoice.knowledge.query.operators import duration_after, in_metric_unit, negated, time_metric
from labvoice.knowledge.vocab import Vocabulary


class FilterReader:
    """Reads the filters of questions over one catalog."""

    def __init__(self, catalog: Catalog, executor: Executor) -> None:
        self.catalog = catalog
        self.executor = executor

    def filters(self, slots: Slots, now: datetime) -> tuple[list[Filter], set[tuple[int, int]]]:
        filters: list[Filter] = []
        used: set[tuple[int, int]] = set()
        excluded = {id(m) for m in slots.datasets + slots.models + slots.values
                    if negated(slots.text, slots.tokens, m.start, m.end)}
        for kind, mentions in (("dataset", slots.datasets), ("model", slots.models)):
            # "that isn't a resnet": every name the words fit is excluded, nothing to ask
            mentions = [m for m in mentions if id(m) not in excluded or not m.alternatives] + \
                [replace(m, name=name, alternatives=()) for m in mentions if id(m) in excluded and m.alternatives
                 for name in (m.name,) + m.alternatives]
            excluded |= {id(m) for m in mentions if negated(slots.text, slots.tokens, m.start, m.end)}
            kept = [m.name for m in mentions if id(m) not in excluded]
            if kept:
                filters.append(Filter(field=Field(kind=kind), op="=" if len(kept) == 1 else "in",
                                      value=kept[0] if len(kept) == 1 else tuple(kept)))
            dropped_names = [m.name for m in mentions if id(m) in excluded]
            if dropped_names:
                filters.append(Filter(field=Field(kind=kind), op="!=" if len(dropped_names) == 1 else "not_in",
                                      value=dropped_names[0] if len(dropped_names) == 1 else tuple(dropped_names)))
        for v in slots.values:
            filters.append(Filter(field=Field(kind="param", name=v.name), op="!=" if id(v) in excluded else "=",
                                  value=v.value))
        time_words = set(slots.time.said.split()) if slots.time else set()
        numbers_used: set[int] = set()
        for cond in slots.conditions:
            if str(cond.value).rstrip("0").rstrip(".") in time_words:
                continue
            span = duration_after(slots, cond.num_pos)
            bound = self._bind_duration(cond, span, slots) if span is not None else self._bind(cond, slots)
            if bound is None:
                continue
            mention, value = bound
            kind = "metric" if mention.kind == "metric" else "param"
            op = cond.op
            if op in ("better", "worse"):
                lower = lower_is_better(mention.name) if kind == "metric" else False
                op = ("<" if lower else ">") if op == "better" else (">" if lower else "<")
            filters.append(Filter(field=Field(kind=kind, name=mention.name), op=op,
                                  value=tuple(value) if isinstance(value, tuple) else value))
            used.add((mention.start, mention.end))
            numbers_used.add(cond.num_pos)
            if cond.op == "between":
                numbers_used.add(cond.num_pos - 2)
        k_pos = None
        if slots.k is not None and slots.k_char is not None:
            k_pos = next((t.pos for t in slots.tokens if t.start == slots.k_char), None)
        for num in slots.numbers:
            if num.pos in numbers_used or num.pos == k_pos or num.text in time_words:
                continue
            param = self._adjacent_param(num.pos, slots)
            if param is not None:
                between = " ".join(t.text for t in slots.tokens[min(param.end, num.pos) + 1:max(param.start, num.pos)])
                excluded = negated(slots.text, slots.tokens, min(param.start, num.pos)) or \
                    re.search(r"\b(not|isn t|wasn t|other than)\b", between) is not None
                filters.append(Filter(field=Field(kind="param", name=param.name), op="!=" if excluded else "=",
                                      value=num.value))
                used.add((param.start, param.end))
                continue
            joiners = {"of", "=", "is", "was", "equal", "equals", "exactly", "to"}
            for m in slots.metrics:
                if num.pos - 3 <= m.end < num.pos and all(slots.tokens[i].text in joiners for i in range(m.end + 1, num.pos)) \
                        and num.pos - m.end >= 2:
                    filters.append(Filter(field=Field(kind="metric", name=m.name), op="=",
                                          value=self.as_stored(m.name, num.value, num.percent)))
                    used.add((m.start, m.end))
                    break
        if slots.time:
            if slots.time.start is not None:
                filters.append(Filter(field=Field(kind="time"), op=">=", value=slots.time.start.isoformat()))
            if slots.time.end is not None:
                filters.append(Filter(field=Field(kind="time"), op="<", value=slots.time.end.isoformat()))
        return filters, used

    def _bind_duration(self, cond: Condition, span, slots: Slots) -> tuple[Mention, Any] | None:
        """"took more than three hours": the time metric named nearby, else the training-time metric,
        with the value in the metric's own unit."""
        timed = [m for m in slots.metrics if lexicon().metric_unit(m.name) is not None]
        name = timed[0].name if timed else time_metric(self.catalog)
        if name is None:
            return None
        mention = timed[0] if timed else Mention("metric", name, -1, -1, 0.0)
        value = tuple(in_metric_unit(name, v * span.unit_seconds) for v in cond.value) \
            if isinstance(cond.value, tuple) else in_metric_unit(name, cond.value * span.unit_seconds)
        return mention, value

    def _bind(self, cond: Condition, slots: Slots) -> tuple[Mention, Any] | None:
        """The field a comparator is about: one named right after the number ("more than 100 epochs"),
        else the nearest one named before the comparator ("learning rate below 0.01"), else the
        headline metric."""
        fields = [m for m in slots.metrics + slots.params]
        skip = {"%", "pct", "percent"}
        after_pos = cond.num_pos + 1
        while after_pos < len(slots.tokens) and slots.tokens[after_pos].canon in skip:
            after_pos += 1
        after = [f for f in fields if after_pos <= f.start <= after_pos + 1]
        before = [f for f in fields if f.end < cond.comp_pos and cond.comp_pos - f.end <= 6]
        if after:
            mention = min(after, key=lambda f: f.start)
        elif before:
            mention = max(before, key=lambda f: f.end)
        else:
            headline = self.catalog.headline_metric()
            if headline is None:
                return None
            mention = Mention("metric", headline, -1, -1, 0.0)
        value = cond.value
        if mention.kind == "metric":
            value = self.as_stored(mention.name, cond.value, cond.percent)
        return mention, value

    def as_stored(self, metric: str, value, percent: bool):
        if isinstance(value, tuple):
            return tuple(self.as_stored(metric, v, percent) for v in value)
        from labvoice.knowledge.query.wording import is_percent_metric

        if metric in self.catalog.percent_metrics:
            return value if (percent or value > 1) else value * 100
        if is_percent_metric(metric) and (percent or 1 < value <= 100):
            return value / 100
        if percent and value > 1:     # "over 87 percent" of a score stored as a fraction
            col = self.catalog.metric_columns.get(metric)
            finite = col[np.isfinite(col)] if col is not None else np.zeros(0)
            if finite.size and finite.max() <= 1.0:
                return value / 100
        return value

    def _adjacent_param(self, pos: int, slots: Slots) -> Mention | None:
        joiners = {"of", "=", "is", "was", "at", "set", "to", "equal", "equals", "a", "with", "for", "not", "isn", "wasn",
                   "t", "other", "than", "!=", "value", "values", "setting", "equalling"}
        for p in slots.params:
            if p.start in (pos + 1, pos + 2) and all(slots.tokens[i].canon in ("hidden", "n", "init", "training")
                                                     or i == p.start for i in range(pos + 1, p.start + 1)):
                return p
            if pos - 3 <= p.end < pos and all(slots.tokens[i].text in joiners for i in range(p.end + 1, pos)):
                return p
        return None

    def headline_for(self, filters: list[Filter]) -> str | None:
        """The metric to rank by when none is named: the DB's headline metric, or, when the runs the
        filters keep do not record it (a regression dataset in a classification DB), theirs."""
        cat = self.catalog
        headline = cat.headline_metric()
        scoped = tuple(f for f in filters if f.field.kind in ("dataset", "model", "param"))
        if not scoped or headline is None:
            return headline
        mask = self.executor.mask(scoped)
        if not mask.any() or np.isfinite(cat.metric_columns[headline][mask]).any():
            return headline
        present = tuple(m for m in cat.metric_names if np.isfinite(cat.metric_columns[m][mask]).any())
        return Vocabulary(metrics=present, datasets=(), model_kinds=(), params=()).headline_metric() or headline


def dataset_filter(datasets: tuple[str, ...]) -> Filter:
    return Filter(field=Field(kind="dataset"), op="=" if len(datasets) == 1 else "in",
                  value=datasets[0] if len(datasets) == 1 else tuple(datasets))
