"""The executor: runs one `Parsed` deterministically over a `Catalog` (NumPy columns of the loaded
runs): filter -> group -> aggregate -> order -> limit, and returns a `QueryResult` of typed rows,
worded facts (render.py) and checkable claims. Nothing here guesses: a query over zero runs says so.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from labvoice.knowledge.query.catalog import Catalog, direction_known, lower_is_better
from labvoice.knowledge.query.model import (ALL_PARAMS, Claim, Clarify, Filter, FlagRequest, QueryResult, Row, RunQuery,
                                            Unsupported)
from labvoice.knowledge.query import render, render_stats

from labvoice.knowledge.notes import is_flagged

MAX_ROWS = 50


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    sorter = np.argsort(values, kind="mergesort")
    inverse = np.empty(sorter.size, dtype=np.intp)
    inverse[sorter] = np.arange(sorter.size)
    ordered = values[sorter]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = starts.cumsum()[inverse]
    bounds = np.r_[np.flatnonzero(starts), starts.size]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation (Pearson's on average ranks); None when either side is constant."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom else None


def _iso_seconds(value: str) -> float:
    return datetime.fromisoformat(str(value)).timestamp()


class Executor:
    def __init__(self, catalog: Catalog) -> None:
        self.cat = catalog
        self._note_col: np.ndarray | None = None
        self._flags: np.ndarray | None = None
        self._noted: np.ndarray | None = None
        self._categories: dict[str, np.ndarray] = {}
        self._ids: np.ndarray | None = None

    # --- columns built on first use -----------------------------------------------------------
    def notes(self) -> np.ndarray:
        if self._note_col is None:
            self._note_col = np.array([(r.note or "").lower() for r in self.cat.runs], dtype=object)
        return self._note_col

    def noted(self) -> np.ndarray:
        """Indices of the runs that have a note at all (a small share of a big DB)."""
        if self._noted is None:
            self._noted = np.flatnonzero(np.array([bool(r.note) for r in self.cat.runs], dtype=bool))
        return self._noted

    def flags(self) -> np.ndarray:
        if self._flags is None:
            self._flags = np.array([is_flagged(r.note) for r in self.cat.runs], dtype=bool)
        return self._flags

    def category(self, name: str) -> np.ndarray:
        if name not in self._categories:
            self._categories[name] = np.array([r.params.get(name) for r in self.cat.runs], dtype=object)
        return self._categories[name]

    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = np.array([r.run_id for r in self.cat.runs], dtype=object)
        return self._ids

    # --- filtering ------------------------------------------------------------------------------
    def mask(self, filters: tuple[Filter, ...]) -> np.ndarray:
        n = len(self.cat.runs)
        keep = np.ones(n, dtype=bool)
        for f in filters:
            keep &= self._one(f, n)
        return keep

    def _one(self, f: Filter, n: int) -> np.ndarray:
        kind, op, value = f.field.kind, f.op, f.value
        values = value if isinstance(value, tuple) else (value,)
        if kind in ("dataset", "model"):
            names, codes = self.cat.codes(kind)
            wanted = np.flatnonzero(np.isin(names, [str(v) for v in values]))
            hit = np.isin(codes, wanted)
            return ~hit if op in ("!=", "not_in") else hit
        if kind == "run_id":
            hit = np.zeros(n, dtype=bool)
            hit[[self.cat.by_id[str(v)] for v in values if str(v) in self.cat.by_id]] = True
            return ~hit if op in ("!=", "not_in") else hit
        if kind == "note":
            notes = self.notes()
            terms = [str(v).lower() for v in values]
            hit = np.zeros(n, dtype=bool)
            for i in self.noted():
                hit[i] = any(t in notes[i] for t in terms)
            return ~hit if op in ("!=", "not_in") else hit
        if kind == "time":
            col = self.cat.times
            numbers = tuple(_iso_seconds(v) for v in values)
        else:
            col = self.cat.column(kind, f.field.name)
            numbers = tuple(v for v in values if isinstance(v, (int, float)))
            if col is None or len(numbers) != len(values):
                if kind == "param":   # a string parameter
                    cat = self.category(f.field.name or "")
                    hit = np.isin(cat.astype(str), [str(v) for v in values]) & \
                        np.array([v is not None for v in cat], dtype=bool)
                    return ~hit if op in ("!=", "not_in") else hit
                return np.zeros(n, dtype=bool)
        finite = np.isfinite(col)
        with np.errstate(invalid="ignore"):
            if op == "=":
                return finite & np.isclose(col, numbers[0], rtol=1e-9, atol=1e-12)
            if op == "!=":
                return finite & ~np.isclose(col, numbers[0], rtol=1e-9, atol=1e-12)
            if op in ("in", "not_in"):
                hit = np.any([np.isclose(col, v, rtol=1e-9, atol=1e-12) for v in numbers], axis=0)
                return finite & (~hit if op == "not_in" else hit)
            if op == "between":
                return finite & (col >= numbers[0]) & (col <= numbers[1])
            return finite & {"<": col < numbers[0], "<=": col <= numbers[0], ">": col > numbers[0],
                             ">=": col >= numbers[0]}[op]

    def ranked(self, mask: np.ndarray, kind: str, name: str | None, descending: bool, limit: int | None) -> np.ndarray:
        """Run indices passing `mask`, ordered by a column (ties: logging order), at most `limit`."""
        col = self.cat.column(kind, name)
        if col is None:
            return np.zeros(0, dtype=int)
        idx = np.flatnonzero(mask & np.isfinite(col))
        if not idx.size:
            return idx
        key = -col[idx] if descending else col[idx]
        if limit is not None and limit < idx.size // 4:
            part = np.argpartition(key, limit)[:limit + 1] if limit + 1 < idx.size else np.arange(idx.size)
            cut = np.sort(key[part])[min(limit, part.size) - 1]
            cand = np.flatnonzero(key <= cut)
            idx, key = idx[cand], key[cand]
        position = np.empty(len(self.cat.order), dtype=np.int64)
        position[self.cat.order] = np.arange(len(self.cat.order))
        order = np.lexsort((position[idx], key))
        out = idx[order]
        return out[:limit] if limit is not None else out

    # --- entry ------------------------------------------------------------------------------------
    def run(self, parsed: Any, confidence: float = 1.0, now: datetime | None = None) -> QueryResult:
        """Execute `parsed`; times are worded relative to `now` (None: the clock; tests and the
        evaluation pass a fixed moment). The executor is shared between threads: `now` is this
        call's, never stored."""
        if isinstance(parsed, RunQuery):
            rows, facts, claims = getattr(self, f"_{parsed.shape}")(parsed, now)
        elif isinstance(parsed, FlagRequest):
            rows, facts, claims = self._flag(parsed, now)
        elif isinstance(parsed, Unsupported):
            rows, facts, claims = [], [render.unsupported(parsed.reason, parsed.about)], []
        elif isinstance(parsed, Clarify):
            rows, facts, claims = [], [render.clarify(parsed)], []
        else:   # small talk and document questions: the answerer handles them
            rows, facts, claims = [], [], []
        used: list[str] = []
        for fact in facts:
            for rid in fact.run_ids:
                if rid not in used:
                    used.append(rid)
        return QueryResult(parsed, tuple(rows), tuple(facts), tuple(claims), tuple(used), confidence)

    # --- helpers ----------------------------------------------------------------------------------
    def row(self, i: int, fields: list[tuple[str, str | None]]) -> Row:
        run = self.cat.runs[i]
        values = []
        for kind, name in fields:
            if kind == "metric":
                values.append((name, run.metrics.get(name)))
            elif kind == "param":
                values.append((f"param:{name}", run.params.get(name)))
            elif kind == "time":
                values.append(("time", run.timestamp))
        return Row(run_id=run.run_id, dataset=run.dataset_id, model_kind=run.model_kind, values=tuple(values),
                   timestamp=run.timestamp)

    def claims_for(self, rows: list[Row]) -> list[Claim]:
        out = []
        for row in rows:
            if not row.run_id:
                continue
            out.append(Claim(row.run_id, "dataset", row.dataset))
            out.append(Claim(row.run_id, "model", row.model_kind))
            for name, value in row.values:
                if value is None or isinstance(value, (dict, list)):
                    continue
                field = name if name.startswith(("param:", "time")) else f"metric:{name}"
                out.append(Claim(row.run_id, field, value if isinstance(value, str) else float(value)))
        return out

    # --- shapes -----------------------------------------------------------------------------------
    def _rank(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        o = q.order
        fields = [(o.field.kind, o.field.name)]
        if q.metric and o.field.kind != "metric":
            fields.append(("metric", q.metric))
        if o.field.kind != "time":
            fields.append(("time", None))
        guessed = [render.direction_guess(o.field.name)] if o.field.kind == "metric" and o.field.name and \
            not direction_known(o.field.name) else []
        if q.group_by is not None:     # the best run(s) of each group
            rows = []
            for key, members in self._groups(mask, q, q.group_by):
                in_group = np.zeros(len(self.cat.runs), dtype=bool)
                in_group[members] = True
                for i in self.ranked(in_group, o.field.kind, o.field.name, o.descending, q.limit or 1):
                    row = self.row(int(i), fields)
                    rows.append(Row(run_id=row.run_id, dataset=row.dataset, model_kind=row.model_kind,
                                    values=row.values, group=str(key), timestamp=row.timestamp))
            if not rows:
                return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
            return rows, [render.per_group_ranked(q, rows, self.cat, now=now)] + guessed, self.claims_for(rows)
        idx = self.ranked(mask, o.field.kind, o.field.name, o.descending, (q.limit or 1) + q.offset)[q.offset:]
        rows = [self.row(int(i), fields) for i in idx]
        if not rows:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        return rows, [render.ranked(q, rows, self.cat, int(mask.sum()), now=now)] + guessed, self.claims_for(rows)

    def _list(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        if q.order is not None and self.cat.column("metric", q.metric) is not None:
            idx = self.ranked(mask, "metric", q.metric, q.order.descending, None)
            rest = np.setdiff1d(np.flatnonzero(mask), idx, assume_unique=True)
            idx = np.concatenate([idx, rest])
        else:
            idx = np.flatnonzero(mask)
        metric_fields = [f for f in q.filters if f.field.kind in ("metric", "param")]
        fields = [(f.field.kind, f.field.name) for f in metric_fields]
        if q.metric and ("metric", q.metric) not in fields:
            fields.append(("metric", q.metric))
        rows = [self.row(int(i), fields) for i in idx[:MAX_ROWS]]
        if not rows:
            return [], [render.none_found(q, self.cat, 0, now=now)], []
        return rows, [render.listed(q, rows, int(idx.size), self.cat, now=now)], self.claims_for(rows[:render.MAX_LISTED])

    def _count(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        n = int(mask.sum())
        idx = np.flatnonzero(mask)[:MAX_ROWS]
        ids = tuple(self.cat.runs[int(i)].run_id for i in idx)
        rows = [Row(group="all", values=(("count", float(n)),), run_ids=ids)]
        return rows, [render.counted(q, n, ids, now=now)], []

    def _flagged(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters) & self.flags()
        idx = np.flatnonzero(mask)
        fields = [("metric", q.metric)] if q.metric else []
        rows = [self.row(int(i), fields) for i in idx[:MAX_ROWS]]
        return rows, [render.flagged(q, rows, int(idx.size), self.cat, now=now)], self.claims_for(rows)

    def _notes(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        idx = np.flatnonzero(mask)
        rows = [self.row(int(i), []) for i in idx[:MAX_ROWS]]
        notes = {self.cat.runs[int(i)].run_id: self.cat.runs[int(i)].note for i in idx[:MAX_ROWS]}
        return rows, [render.noted(q, rows, notes, int(idx.size), self.cat, now=now)], self.claims_for(rows)

    def _details(self, q: RunQuery, now: datetime | None):
        rows, facts = [], []
        for rid in q.run_ids:
            i = self.cat.by_id.get(rid)
            if i is None:
                facts.append(render.unsupported(f"No run is called {rid}."))
                continue
            run = self.cat.runs[i]
            if q.select is not None:
                fields = [(q.select.kind, q.select.name), ("time", None)]
            else:
                fields = [("metric", m) for m in run.metrics] + \
                         [("param", p) for p, v in run.params.items() if isinstance(v, (int, float, str))
                          and not isinstance(v, bool)] + [("time", None)]
            row = self.row(i, fields)
            rows.append(row)
            facts.append(render.details(q, row, run, self.cat, now=now))
        return rows, facts, self.claims_for(rows)

    def _param_of_best(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        name = q.select.name or ""
        if name == ALL_PARAMS:
            has = np.ones(len(self.cat.runs), dtype=bool)
        elif q.select.kind == "metric":
            col = self.cat.column("metric", name)
            has = np.isfinite(col) if col is not None else np.zeros(len(self.cat.runs), dtype=bool)
        elif name in self.cat.param_columns:
            has = np.isfinite(self.cat.param_columns[name])
        else:
            has = np.array([v is not None for v in self.category(name)], dtype=bool)
        order = q.order
        desc = order.descending if order is not None else not lower_is_better(q.metric)
        idx = self.ranked(mask & has, "metric", q.metric, desc, 1 + q.offset)[q.offset:]
        if not idx.size and mask.any() and not (mask & has).any():
            return [], [render.not_recorded(q, self.cat, now=now)], []      # "the ViT runs do not record momentum"
        if not idx.size:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        i = int(idx[0])
        if name == ALL_PARAMS:
            fields = [("metric", q.metric)] + [("param", p) for p, v in self.cat.runs[i].params.items()
                                               if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
        else:
            fields = [("metric", q.metric), (q.select.kind, name)]
        row = self.row(i, fields + [("time", None)])
        return [row], [render.param_of_best(q, row, self.cat, now=now)], self.claims_for([row])

    def _groups(self, mask: np.ndarray, q: RunQuery, field) -> list[tuple[Any, np.ndarray]]:
        if field is None:
            return [(None, np.flatnonzero(mask))]
        if field.kind in ("dataset", "model"):
            names, codes = self.cat.codes(field.kind)
            present = np.bincount(codes[mask], minlength=len(names)) if mask.any() else np.zeros(len(names), int)
            return [(str(names[c]), np.flatnonzero(mask & (codes == c))) for c in range(len(names))
                    if present[c] and names[c]]
        if field.name in self.cat.param_columns:
            keys = self.cat.param_columns[field.name]
            valid = mask & np.isfinite(keys)
            out = []
            for value in np.unique(keys[valid]):
                out.append((float(value), np.flatnonzero(valid & (keys == value))))
            return out
        else:
            keys = self.category(field.name or "")
        out = []
        present = mask & np.array([k not in (None, "") for k in keys], dtype=bool)
        for value in sorted({k for k in keys[present]}, key=str):
            out.append((value, np.flatnonzero(present & (keys == value))))
        return out

    def aggregate(self, idx: np.ndarray, metric: str | None, how: str) -> tuple[float | None, int]:
        if how == "count":
            return float(idx.size), int(idx.size)
        col = self.cat.column("metric", metric)
        if col is None:
            col = self.cat.column("param", metric)   # the average of a numeric parameter
        if col is None:
            return None, 0
        values = col[idx]
        values = values[np.isfinite(values)]
        if not values.size:
            return None, 0
        fn = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max,
              "std": lambda v: np.std(v, ddof=1) if v.size > 1 else 0.0}[how]
        return float(fn(values)), int(values.size)

    def _group(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        rows = []
        for key, idx in self._groups(mask, q, q.group_by):
            value, n = self.aggregate(idx, q.metric, q.aggregate)
            if value is None:
                continue
            label = "all" if key is None else (str(key) if isinstance(key, str) else render_stats.display_number(key))
            spread = self.aggregate(idx, q.metric, "std")[0] if q.aggregate == "mean" else None
            rows.append(Row(group=label, values=((q.aggregate, value), ("n", float(n))) +
                            ((("std", spread),) if spread is not None else ()),
                            run_ids=tuple(self.cat.runs[int(i)].run_id for i in idx[:MAX_ROWS])))
        if q.order is not None and rows:
            rows.sort(key=lambda r: (-(r.value(q.aggregate)) if q.order.descending else r.value(q.aggregate), r.group))
        if q.limit is not None:
            rows = rows[:q.limit] if q.order is not None else rows
        if not rows:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        return rows, [render_stats.grouped(q, rows, self.cat, now=now)], []

    def _best_param_value(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        rows = []
        for key, idx in self._groups(mask, q, q.select):
            value, n = self.aggregate(idx, q.metric, "mean")
            if value is not None:
                label = str(key) if isinstance(key, str) else render_stats.display_number(key)
                rows.append(Row(group=label, values=(("mean", value), ("n", float(n))),
                                run_ids=tuple(self.cat.runs[int(i)].run_id for i in idx[:MAX_ROWS])))
        if not rows:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        lower = lower_is_better(q.metric)
        rows.sort(key=lambda r: (r.value("mean") if lower else -r.value("mean"), r.group))
        return rows, [render_stats.best_param_value(q, rows, self.cat, now=now)], []

    def _param_effect(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        name = q.select.name or ""
        rows = []
        for key, idx in self._groups(mask, q, q.select):
            value, n = self.aggregate(idx, q.metric, "mean")
            if value is not None:
                label = str(key) if isinstance(key, str) else render_stats.display_number(key)
                rows.append(Row(group=label, values=(("mean", value), ("n", float(n))),
                                run_ids=tuple(self.cat.runs[int(i)].run_id for i in idx[:MAX_ROWS])))
        rho = None
        param = self.cat.param_columns.get(name)
        metric = self.cat.column("metric", q.metric)
        if param is not None and metric is not None:
            both = mask & np.isfinite(param) & np.isfinite(metric)
            if both.sum() >= 3 and np.unique(param[both]).size >= 2 and np.unique(metric[both]).size >= 2:
                rho = spearman(param[both], metric[both])
        if not rows:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        fact = render_stats.param_effect(q, rows, rho, self.cat, now=now)
        return rows + [Row(group="rank correlation", values=(("spearman", rho),))], [fact], []

    def _distribution(self, q: RunQuery, now: datetime | None):
        mask = self.mask(q.filters)
        col = self.cat.column("metric", q.metric)
        values = col[mask & np.isfinite(col)] if col is not None else np.zeros(0)
        if not values.size:
            return [], [render.none_found(q, self.cat, int(mask.sum()), now=now)], []
        qs = np.percentile(values, [0, 25, 50, 75, 100])
        stats = (("min", float(qs[0])), ("q1", float(qs[1])), ("median", float(qs[2])), ("q3", float(qs[3])),
                 ("max", float(qs[4])), ("mean", float(values.mean())), ("n", float(values.size)))
        row = Row(group="all", values=stats)
        return [row], [render_stats.distribution(q, row, self.cat, now=now)], []

    def _compare(self, q: RunQuery, now: datetime | None):
        sides = []   # (label, rows, kind)
        for side in q.compare:
            if side.shape == "details":
                i = self.cat.by_id.get(side.run_ids[0]) if side.run_ids else None
                if i is not None:
                    sides.append((None, [self.row(i, [("metric", q.metric), ("time", None)])], "run"))
            elif side.shape == "rank":
                idx = self.ranked(self.mask(side.filters), "metric", q.metric, side.order.descending, side.limit or 1)
                rows = [self.row(int(i), [("metric", q.metric), ("time", None)]) for i in idx]
                label = render_stats.side_label(side)
                if rows:
                    sides.append((label, rows, "best"))
                else:
                    sides.append((label, [], "none"))
            elif side.shape == "group":
                mask = self.mask(side.filters)
                value, n = self.aggregate(np.flatnonzero(mask), q.metric, "mean")
                label = render_stats.side_label(side)
                sides.append((label, [Row(group=label, values=(("mean", value), ("n", float(n))),
                                          run_ids=())] if value is not None else [], "group" if value is not None
                              else "none"))
        rows = [r for _, rs, _ in sides for r in rs]
        if len(rows) < 2:
            return rows, [render_stats.compare_short(q, sides, self.cat, now=now)], self.claims_for(rows)
        return rows, [render_stats.compared(q, sides, self.cat, now=now)], self.claims_for(rows)

    def _flag(self, q: FlagRequest, now: datetime | None):
        """The runs a write request names (ids, the previous answer's, or those its description finds),
        each as a fact carrying the write for the answerer to perform (after reading it back when
        writes.needs_confirmation says so)."""
        ids = q.run_ids
        if not ids and q.target is not None:
            found = self.run(q.target)
            ids = tuple(dict.fromkeys(r.run_id for r in found.rows if r.run_id))[:MAX_ROWS]
        if not ids:
            return [], [render.which_to_flag(q)], []
        rows, facts = [], []
        for rid in ids:
            i = self.cat.by_id.get(rid)
            if i is None:
                facts.append(render.unsupported(f"No run is called {rid}."))
                continue
            row = self.row(i, [("time", None)])
            rows.append(row)
            facts.append(render.flag(q, row, self.cat, now=now))
        return rows, facts, []


def result_for(catalog: Catalog, parsed: Any, confidence: float = 1.0) -> QueryResult:
    return Executor(catalog).run(parsed, confidence)
