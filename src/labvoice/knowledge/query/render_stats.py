"""Facts for the aggregate shapes (group, best parameter value, parameter effect, distribution) and for
comparisons: display text with exact values, spoken text for the ear (see render.py for the rest).
"""
from __future__ import annotations

from datetime import datetime

from labvoice.knowledge.query.catalog import Catalog, lower_is_better
from labvoice.knowledge.query.model import Fact, Row, RunQuery
from labvoice.knowledge.query.render import _cap, _mv, _run_said, _run_shown, _with, fact, scope
from labvoice.knowledge.query.wording import (dataset_words, display_number, join_words, kind_words, metric_words,
                                              param_words, plural, spoken_difference, spoken_number)

AGG_WORDS = {"mean": "average", "median": "median", "min": "lowest", "max": "highest", "std": "standard deviation",
             "count": "number of runs"}


def _group_said(q: RunQuery, label: str) -> str:
    kind = q.group_by.kind if q.group_by else None
    if kind == "dataset":
        return dataset_words(label)
    if kind == "model":
        return kind_words(label)
    if kind == "param":
        return f"{param_words(q.group_by.name or '')} {spoken_number(float(label)) if _numeric(label) else label}"
    return "all runs"


def _numeric(label: str) -> bool:
    try:
        float(label)
        return True
    except ValueError:
        return False


def grouped(q: RunQuery, rows: list[Row], cat: Catalog, *, now: datetime | None) -> Fact:
    agg = q.aggregate or "mean"
    shown, said = scope(q, now=now)
    metric = q.metric or ""
    by = q.group_by.label() if q.group_by else ""
    fmt_said = (lambda v: spoken_number(v)) if agg == "count" else \
        (lambda v: spoken_difference(metric, v, metric in cat.percent_metrics) if agg == "std" else _mv(metric, v, cat))
    what = "runs" if agg == "count" else f"{agg} {metric}"
    display = f"{what.capitalize()}{' by ' + by if by else ''}{_with(shown)}: " + "; ".join(
        f"{r.group}: {display_number(r.value(agg))} (n={int(r.value('n'))})" for r in rows)
    what_said = "number of runs" if agg == "count" else f"{AGG_WORDS[agg]} {metric_words(metric)}"
    if agg == "count" and q.group_by is not None and q.group_by.kind in ("dataset", "model"):
        what_groups = "dataset" if q.group_by.kind == "dataset" else "model kind"
        spoken = f"There {'is' if len(rows) == 1 else 'are'} {plural(len(rows), what_groups)}" + \
            (f" {said}" if said else "") + ": " + join_words(
                [f"{_group_said(q, r.group)} with {plural(int(r.value('count')), 'run')}" for r in rows[:8]]) + \
            (f", and {len(rows) - 8} more" if len(rows) > 8 else "") + "."
        return fact("group", display, spoken, [rid for r in rows for rid in r.run_ids][:50])
    if q.group_by is None:
        r = rows[0]
        spoken = f"The {what_said}{' ' + said if said else ''} is {fmt_said(r.value(agg))}, over {plural(int(r.value('n')), 'run')}."
    elif q.limit == 1 and q.order is not None:
        r = rows[0]
        lower = lower_is_better(metric)
        hard = q.order.descending == lower
        label = {"dataset": "dataset", "model": "model kind"}.get(q.group_by.kind, param_words(q.group_by.name or ""))
        verdict = ("hardest" if q.group_by.kind == "dataset" else "weakest") if hard else \
            ("easiest" if q.group_by.kind == "dataset" else "strongest")
        spoken = (f"On average, the {verdict} {label} is {_group_said(q, r.group)}, with {what_said} "
                  f"{fmt_said(r.value(agg))} over {plural(int(r.value('n')), 'run')}.")
    else:
        spoken = f"The {what_said}{' ' + said if said else ''}: " + join_words(
            [f"{_group_said(q, r.group)} {fmt_said(r.value(agg))}" for r in rows[:6]]) + \
            (f", and {len(rows) - 6} more groups" if len(rows) > 6 else "") + "."
    return fact("group", display, spoken, [rid for r in rows for rid in r.run_ids][:50])


MIN_SUPPORT = 3    # runs behind a group's mean before it is more than thin evidence


def best_param_value(q: RunQuery, rows: list[Row], cat: Catalog, *, now: datetime | None) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    shown, said = scope(q, now=now)
    display = f"Mean {metric} by {name}{_with(shown)}, best first: " + "; ".join(
        f"{name}={r.group}: {display_number(r.value('mean'))} (n={int(r.value('n'))})" for r in rows)
    best = rows[0]
    value = spoken_number(float(best.group)) if _numeric(best.group) else best.group
    spoken = (f"On average, {param_words(name)} {value} works best{' ' + said if said else ''}, with "
              f"{metric_words(metric)} {_mv(metric, best.value('mean'), cat)} over {plural(int(best.value('n')), 'run')}")
    if len(rows) > 1:
        nxt = rows[1]
        nval = spoken_number(float(nxt.group)) if _numeric(nxt.group) else nxt.group
        spoken += f"; next is {nval} at {_mv(metric, nxt.value('mean'), cat)}"
    supported = [r for r in rows if r.value("n") >= MIN_SUPPORT]
    if best.value("n") < MIN_SUPPORT and supported:
        # thin evidence: a value tried once beats one tried many times only by luck, so say so
        sure = supported[0]
        sval = spoken_number(float(sure.group)) if _numeric(sure.group) else sure.group
        spoken += (f". That rests on {plural(int(best.value('n')), 'run')} only; of the values tried at least "
                   f"{MIN_SUPPORT} times, {sval} is best at {_mv(metric, sure.value('mean'), cat)} over "
                   f"{plural(int(sure.value('n')), 'run')}")
    return fact("best_param_value", display, spoken + ".", [rid for r in rows for rid in r.run_ids][:50])


def param_effect(q: RunQuery, rows: list[Row], rho: float | None, cat: Catalog, *, now: datetime | None) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    shown, said = scope(q, now=now)
    numeric = all(_numeric(r.group) for r in rows)
    ordered = sorted(rows, key=lambda r: float(r.group)) if numeric else rows
    display = f"Mean {metric} by {name}{_with(shown)}: " + "; ".join(
        f"{name}={r.group}: {display_number(r.value('mean'))} (n={int(r.value('n'))})" for r in ordered) + \
        (f"; Spearman rank correlation {rho:.3f}" if rho is not None else "; rank correlation: not enough varied runs")
    pw, mw = param_words(name), metric_words(metric)
    if rho is None:
        trend = f"there are not enough runs with different {pw} values to tell a trend"
    else:
        strength = "strongly" if abs(rho) >= 0.6 else ("moderately" if abs(rho) >= 0.3 else "hardly")
        if strength == "hardly":
            trend = f"{mw} hardly changes with {pw} (rank correlation {spoken_number(rho)})"
        else:
            direction = "rises" if rho > 0 else "falls"
            trend = f"{mw} {strength} {direction} as {pw} grows (rank correlation {spoken_number(rho)})"
    if len(ordered) > 5 and numeric:
        half = len(ordered) // 2
        parts = []
        for group in (ordered[:half], ordered[half:]):
            n = sum(r.value("n") for r in group)
            mean = sum(r.value("mean") * r.value("n") for r in group) / n
            parts.append(f"{spoken_number(float(group[0].group))} to {spoken_number(float(group[-1].group))} give "
                         f"{_mv(metric, mean, cat)}")
        means = join_words(parts)
    else:
        means = join_words([f"{spoken_number(float(r.group)) if _numeric(r.group) else r.group} gives "
                            f"{_mv(metric, r.value('mean'), cat)}" for r in ordered[:5]])
    spoken = f"{trend[0].upper() + trend[1:]}{' ' + said if said else ''}. On average, {means}."
    return fact("param_effect", display, spoken, [rid for r in rows for rid in r.run_ids][:50])


def distribution(q: RunQuery, row: Row, cat: Catalog, *, now: datetime | None) -> Fact:
    metric = q.metric or ""
    shown, said = scope(q, now=now)
    v = dict(row.values)
    display = (f"Distribution of {metric}{_with(shown)} over {int(v['n'])} runs: min {display_number(v['min'])}, "
               f"q1 {display_number(v['q1'])}, median {display_number(v['median'])}, q3 {display_number(v['q3'])}, "
               f"max {display_number(v['max'])}, mean {display_number(v['mean'])}")
    mv = lambda x: _mv(metric, x, cat)  # noqa: E731
    spoken = (f"Over {plural(int(v['n']), 'run')}{' ' + said if said else ''}, {metric_words(metric)} ranges from "
              f"{mv(v['min'])} to {mv(v['max'])}, with a median of {mv(v['median'])}; the middle half lies "
              f"between {mv(v['q1'])} and {mv(v['q3'])}.")
    return fact("distribution", display, spoken)


def side_label(side: RunQuery) -> str:
    parts = []
    for f in side.filters:
        if f.field.kind in ("model", "dataset") and f.op == "=":
            parts.append(str(f.value))
    return " on ".join(parts) or "all runs"


def _side_said(side_label_text: str) -> str:
    return " ".join(kind_words(p) if i == 0 else dataset_words(p) for i, p in enumerate(side_label_text.split(" on ")))


def compared(q: RunQuery, sides, cat: Catalog, *, now: datetime | None) -> Fact:
    metric = q.metric or ""
    lower = lower_is_better(metric)
    entries = []   # (display, spoken, value, run_id or None)
    for label, rows, kind in sides:
        if kind == "group":
            r = rows[0]
            entries.append((f"mean {metric} of {label} = {display_number(r.value('mean'))} (n={int(r.value('n'))})",
                            f"{_side_said(label)} average {_mv(metric, r.value('mean'), cat)}", r.value("mean"), None))
        elif kind == "none":
            entries.append((f"{label}: no runs", f"there are no {_side_said(label)} runs", None, None))
        else:
            for r in rows:
                prefix = f"best {label}: " if kind == "best" and len(rows) == 1 else ""
                entries.append((prefix + _run_shown(r, metric), f"{_run_said(r, False, now=now)} reached "
                                f"{_mv(metric, r.value(metric), cat)}", r.value(metric), r.run_id))
    scored = [e for e in entries if e[2] is not None]
    verdict_d, verdict_s = "", ""
    if len(scored) >= 2:
        ranked_entries = sorted(scored, key=lambda e: e[2] if lower else -e[2])
        win, second = ranked_entries[0], ranked_entries[1]
        diff = abs(win[2] - second[2])
        verdict_d = f" Ahead: {win[3] or win[0]} by {display_number(diff)}."
        lead = spoken_difference(metric, diff, metric in cat.percent_metrics)
        verdict_s = " They are level." if diff == 0 else (f" The first leads by {lead}." if win is scored[0] else
                                                          f" {_cap(win[1].split(' reached ')[0].split(' average ')[0])} leads by {lead}.")
    display = f"Comparison by {metric}: " + "; ".join(e[0] for e in entries) + "." + verdict_d
    spoken = f"By {metric_words(metric)}: " + "; ".join(e[1] for e in entries) + "." + verdict_s
    return fact("compare", display, spoken, [e[3] for e in entries if e[3]])


def compare_short(q: RunQuery, sides, cat: Catalog, *, now: datetime | None) -> Fact:
    found = [r for _, rows, _ in sides for r in rows]
    missing = [label for label, rows, kind in sides if kind == "none"]
    text = "There is only one run to compare" if found else "There are no runs to compare"
    if missing:
        text += f": no runs for {join_words(missing)}"
    display = text + (f" ({_run_shown(found[0], q.metric)})" if found else "") + "."
    spoken = text.replace("_", " ") + (f": {_run_said(found[0], False, now=now)}" if found and not missing else "") + "."
    return fact("compare", display, spoken, [r.run_id for r in found if r.run_id])
