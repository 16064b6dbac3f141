"""Facts from executed rows: one display text (full run ids, exact values) and one spoken text
(wording.py's rules) per statement, chosen from the result's shape.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from labvoice.knowledge.query.catalog import Catalog, lower_is_better
from labvoice.knowledge.query.model import Fact, FlagRequest, Row, RunQuery
from labvoice.knowledge.query.wording import (dataset_words, display_number, for_ear, join_words, kind_words,
                                              metric_words, param_words, plural, run_words, spoken_difference,
                                              spoken_metric_value, spoken_number, when_words, with_article)

try:
    from labvoice.knowledge.notes import FLAG_ACTION, PUBLISH, UNFLAG_ACTION
except ImportError:  # pragma: no cover
    FLAG_ACTION, UNFLAG_ACTION, PUBLISH = "flag", "unflag", "PUBLISH"

MAX_LISTED = 5        # runs named one by one; the rest are counted
MAX_SPOKEN = 3        # runs named one by one in speech


def fact(kind: str, display: str, spoken: str, run_ids=(), action=None) -> Fact:
    return Fact(kind, display, for_ear(spoken), tuple(run_ids), action)


def _moment(row: Row) -> datetime | None:
    try:
        return datetime.fromisoformat(row.timestamp) if row.timestamp else None
    except ValueError:
        return None


NOW: list = [None]   # a fixed "now" for reproducible wording (tests, evaluation); None = the clock


def _run_said(row: Row, definite: bool = True) -> str:
    return run_words(row.model_kind, row.dataset, _moment(row), NOW[0], definite=definite)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _run_shown(row: Row, metric: str | None = None, cat: Catalog | None = None) -> str:
    value = row.value(metric) if metric else None
    tail = f", {metric} {display_number(value)}" if metric and value is not None else ""
    return f"{row.run_id} ({row.model_kind or 'model'} on {row.dataset or '?'}{tail})"


def _mv(metric: str, value, cat: Catalog) -> str:
    return spoken_metric_value(metric, value, metric in cat.percent_metrics)


def _filter_words(f) -> tuple[str, str]:
    """(display, spoken) for one filter, for scope phrases."""
    kind, op, value = f.field.kind, f.op, f.value
    vals = value if isinstance(value, tuple) else (value,)
    ops = {"=": "=", "!=": "not", "<": "below", "<=": "at most", ">": "above", ">=": "at least",
           "between": "between", "in": "in", "contains": "mentioning"}
    if kind == "dataset":
        shown = " or ".join(str(v) for v in vals)
        said = join_words([dataset_words(str(v)) for v in vals], "or")
        return (f"on {shown}", f"on {said}") if op != "!=" else (f"not on {shown}", f"not on {said}")
    if kind == "model":
        shown = " or ".join(str(v) for v in vals)
        said = join_words([kind_words(str(v)) for v in vals], "or")
        return (f"{'not ' if op == '!=' else ''}{shown}", f"{'other than ' if op == '!=' else ''}{said}")
    if kind == "time":
        moment = datetime.fromisoformat(str(vals[0]))
        word = {">=": "since", ">": "after", "<": "before", "<=": "until"}.get(op, "on")
        return f"logged {word} {moment.isoformat(timespec='minutes')}", \
            f"logged {word} {when_words(moment, NOW[0]).removeprefix('on ')}"
    if kind == "note":
        return f"note mentioning {' or '.join(map(str, vals))}", "whose notes mention " + join_words([str(v) for v in vals], "or")
    name = f.field.name or ""
    words = metric_words(name) if kind == "metric" else param_words(name)
    if kind == "metric":   # "above 90 percent" for an accuracy, whether stored as 0.9 or 90
        said_value = lambda v: spoken_metric_value(name, v, isinstance(v, (int, float)) and v > 1)  # noqa: E731
    else:
        said_value = spoken_number
    if op == "between":
        return f"{name} between {display_number(vals[0])} and {display_number(vals[1])}", \
            f"{words} between {said_value(vals[0])} and {said_value(vals[1])}"
    if op == "in":
        return f"{name} in {', '.join(display_number(v) for v in vals)}", \
            f"{words} of {join_words([said_value(v) for v in vals], 'or')}"
    said_op = {"=": "of", "!=": "other than"}.get(op, ops[op])
    if op == "=" and _counted(words) and not isinstance(vals[0], str):
        return f"{name} {op} {display_number(vals[0])}", f"{spoken_number(vals[0])} {words}"
    if op == "=" and isinstance(vals[0], str):
        return f"{name} = {vals[0]}", f"{words} {words_for_value(vals[0])}"
    return f"{name} {op} {display_number(vals[0])}", f"{words} {said_op} {said_value(vals[0])}"


def words_for_value(value: str) -> str:
    return value.replace("_", " ")


def _counted(words: str) -> bool:
    """A parameter said as a plural noun ("epochs", "hidden units"): "12 epochs", not "epochs of 12"."""
    return words.endswith("s") and not words.startswith("number of") and " " not in words.strip()[-3:]


def scope(q: RunQuery, skip: tuple[str, ...] = ()) -> tuple[str, str]:
    """(display, spoken) phrase for a query's filters: "on wine, using MLP, with learning rate below 0.01"."""
    filters = [f for f in q.filters if f.field.kind not in skip]
    parts = [(f.field.kind, *_filter_words(f)) for f in filters]
    display = ", ".join(p[1] for p in parts)
    said: list[str] = [p[2] for p in parts if p[0] == "dataset"]
    kinds = [p[2] for p in parts if p[0] == "model"]
    if kinds:
        said.append("using " + " and ".join(kinds))
    conds = [p[2] for p in parts if p[0] in ("metric", "param")]
    if conds:
        said.append("with " + join_words(conds))
    times = [f for f in filters if f.field.kind == "time"]
    if len(times) == 2 and {t.op for t in times} == {">=", "<"}:
        said.append(_time_span(times))
    else:
        said += [p[2] for p in parts if p[0] == "time"]
    said += [p[2] for p in parts if p[0] == "note"]
    return display, " ".join(said)


def _time_span(times) -> str:
    start = datetime.fromisoformat(str(next(t.value for t in times if t.op == ">=")))
    end = datetime.fromisoformat(str(next(t.value for t in times if t.op == "<")))
    if start.day == 1 and end.day == 1 and (end.month - start.month) % 12 == 1 and start.hour == 0:
        from labvoice.knowledge.query.wording import MONTHS

        return f"logged in {MONTHS[start.month - 1]}"
    if (end - start).days == 1:
        return f"logged {when_words(start, NOW[0])}"
    return f"logged between {when_words(start, NOW[0]).removeprefix('on ')} and {when_words(end, NOW[0]).removeprefix('on ')}"


def scope_words(q: RunQuery) -> str:
    return scope(q)[1]


def _with(scope_text: str) -> str:
    return f" ({scope_text})" if scope_text else ""


CAN_DO = ("I can rank runs by any metric, filter them by dataset, model, settings, values or time, count them, "
          "average them by model or dataset, show how a setting affects a metric, and compare runs.")


def unsupported(reason: str, about: str = "names") -> Fact:
    if about == "shape":
        said = f"{reason}." if reason.startswith("I can't") else "I can't work that out from the runs yet."
        return fact("unsupported", f"Cannot answer from the runs: {reason}.", f"{said} {CAN_DO}")
    return fact("unsupported", reason, reason)


def none_found(q: RunQuery, cat: Catalog, matching: int) -> Fact:
    shown, said = scope(q)
    what = f" with {q.metric}" if q.metric and matching else ""
    display = f"No runs{_with(shown)}{what}." if shown or what else "No runs match."
    spoken = f"There are no runs {said}{' with ' + metric_words(q.metric) if what else ''}." if said or what \
        else "There are no runs that match."
    return fact("no_match", display, spoken)


def ranked(q: RunQuery, rows: list[Row], cat: Catalog, matching: int) -> Fact:
    o = q.order
    shown, said = scope(q)
    name = o.field.name or "time"
    if o.field.kind == "time":
        adjective = "most recent" if o.descending else "earliest"
        display = f"{adjective.capitalize()} run(s){_with(shown)}: " + "; ".join(
            f"{_run_shown(r, q.metric)} logged {r.timestamp}" for r in rows)
        if len(rows) == 1:
            r = rows[0]
            extra = f", with {metric_words(q.metric)} {_mv(q.metric, r.value(q.metric), cat)}" \
                if q.metric and r.value(q.metric) is not None else ""
            spoken = f"The {adjective} run{' ' + said if said else ''} is {_run_said(r, False)}{extra}."
        else:
            spoken = f"The {len(rows)} {adjective} runs{' ' + said if said else ''} are " + \
                join_words([_run_said(r, False) for r in rows[:MAX_SPOKEN]]) + "."
        return fact("rank", display, spoken, [r.run_id for r in rows])
    lower = lower_is_better(name) if o.field.kind == "metric" else False
    good = (o.descending != lower) if o.field.kind == "metric" else None
    words = metric_words(name) if o.field.kind == "metric" else param_words(name)
    if good is None:
        adjective = "largest" if o.descending else "smallest"
    else:
        adjective = ("highest" if o.descending else "lowest") if name not in () else "best"
        adjective = "best" if good else "worst"
        if o.field.kind == "metric" and lower and good:
            adjective = "lowest"
        if o.field.kind == "metric" and not good and not lower:
            adjective = "lowest"
        if o.field.kind == "metric" and any(w in name.lower() for w in ("time", "duration", "runtime", "seconds")):
            adjective = "longest" if o.descending else "shortest"
    display = f"Runs by {name} ({'descending' if o.descending else 'ascending'}){_with(shown)}, {matching} match: " + \
        "; ".join(f"{i + 1}. {_run_shown(r, name)}" for i, r in enumerate(rows))
    value_of = (lambda r: _mv(name, r.value(name), cat)) if o.field.kind == "metric" else \
        (lambda r: spoken_number(r.value(f'param:{name}')))
    if o.field.kind == "param":
        display = f"Runs by {name} ({'descending' if o.descending else 'ascending'}){_with(shown)}: " + \
            "; ".join(f"{i + 1}. {r.run_id} ({r.model_kind} on {r.dataset}, {name} "
                      f"{display_number(r.value('param:' + name))})" for i, r in enumerate(rows))
    in_scope = f" {said}" if said else ""
    if len(rows) == 1:
        r = rows[0]
        spoken = f"The run with the {adjective} {words}{in_scope} is {_run_said(r, False)}, " + \
            (f"at {value_of(r)}." if o.field.kind == "metric" else f"with {words} {value_of(r)}.")
    else:
        spoken = f"The top {len(rows)} runs by {words}{in_scope} are " + \
            join_words([f"{_run_said(r, False)} at {value_of(r)}" for r in rows[:MAX_SPOKEN]]) + \
            (f", and {len(rows) - MAX_SPOKEN} more" if len(rows) > MAX_SPOKEN else "") + "."
        if len(rows) < (q.limit or 1):
            spoken += f" Only {len(rows)} runs match."
    return fact("rank", display, spoken, [r.run_id for r in rows])


def listed(q: RunQuery, rows: list[Row], total: int, cat: Catalog) -> Fact:
    shown, said = scope(q)
    display = f"{total} runs{_with(shown)}: " + "; ".join(_run_shown(r, q.metric) for r in rows[:MAX_LISTED]) + \
        (f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else "")
    spoken = f"{plural(total, 'run')}{' ' + said if said else ''}. " + \
        ("They include " if total > MAX_SPOKEN else ("It is " if total == 1 else "They are ")) + \
        join_words([_run_said(r, False) + (f" at {_mv(q.metric, r.value(q.metric), cat)}"
                                            if q.metric and r.value(q.metric) is not None else "")
                    for r in rows[:MAX_SPOKEN]]) + "."
    return fact("list", display, spoken, [r.run_id for r in rows])


def counted(q: RunQuery, n: int, run_ids) -> Fact:
    shown, said = scope(q)
    display = f"{n} runs{_with(shown)}."
    spoken = f"{n} {'run' if n == 1 else 'runs'}{' ' + said if said else ''}." if said else \
        f"{n} {'run is' if n == 1 else 'runs are'} logged."
    if n == 0:
        spoken = f"There are no runs {said}." if said else "There are no runs yet."
    return fact("count", display, spoken, run_ids)


def flagged(q: RunQuery, rows: list[Row], total: int, cat: Catalog) -> Fact:
    shown, said = scope(q)
    if not rows:
        text = f"No runs{' ' + said if said else ''} are flagged for publishing yet."
        return fact("flagged", text, text)
    display = f"{total} runs flagged for publishing{_with(shown)}: " + "; ".join(
        _run_shown(r, q.metric) for r in rows[:MAX_LISTED]) + (f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else "")
    spoken = f"{plural(total, 'run')} {'is' if total == 1 else 'are'} flagged for publishing: " + \
        join_words([_run_said(r, False) for r in rows[:MAX_SPOKEN]]) + \
        (f", and {total - MAX_SPOKEN} more" if total > MAX_SPOKEN else "") + "."
    return fact("flagged", display, spoken, [r.run_id for r in rows])


def noted(q: RunQuery, rows: list[Row], notes: dict[str, str], total: int, cat: Catalog) -> Fact:
    terms = [f for f in q.filters if f.field.kind == "note"]
    about = (terms[0].value if isinstance(terms[0].value, str) else "problems") if terms else "that"
    if not rows:
        text = f"No run notes mention {about}." if about != "problems" else "No run notes mention a problem."
        return fact("notes", text, text)
    display = f"{total} runs whose note matches {about}: " + "; ".join(
        f"{r.run_id} ({r.model_kind} on {r.dataset}, note: {notes.get(r.run_id, '')})" for r in rows[:MAX_LISTED])
    spoken = f"{plural(total, 'run')} {'has a note' if total == 1 else 'have notes'} about " + \
        ("problems" if about == "problems" else about) + ": " + \
        join_words([_run_said(r, False) for r in rows[:MAX_SPOKEN]]) + \
        (f", and {total - MAX_SPOKEN} more" if total > MAX_SPOKEN else "") + "."
    return fact("notes", display, spoken, [r.run_id for r in rows])


def details(q: RunQuery, row: Row, run, cat: Catalog) -> Fact:
    if q.select is not None:
        name = q.select.name or ""
        key = f"param:{name}" if q.select.kind == "param" else name
        value = row.value(key)
        words = param_words(name) if q.select.kind == "param" else metric_words(name)
        shown_value = display_number(value) if value is not None else "not recorded"
        display = f"Run {row.run_id} ({row.model_kind} on {row.dataset}, logged {row.timestamp}): {name} = {shown_value}"
        said_value = (_mv(name, value, cat) if q.select.kind == "metric" else spoken_number(value)) \
            if value is not None else "not recorded"
        if value is not None and q.select.kind == "param" and _counted(words) and not isinstance(value, str):
            spoken = f"{_cap(_run_said(row))} used {spoken_number(value)} {words}."
        elif value is not None:
            spoken = f"{_cap(_run_said(row))} had {words} {said_value}."
        else:
            spoken = f"{_cap(_run_said(row))} has no {words} recorded."
        return fact("details", display, spoken, [row.run_id])
    metrics = [(k, v) for k, v in row.values if not k.startswith(("param:", "time"))]
    params = [(k[6:], v) for k, v in row.values if k.startswith("param:")]
    note = f"; note: {run.note}" if run.note else ""
    display = (f"Run {row.run_id}: {row.model_kind or 'model'} on {row.dataset}, logged {row.timestamp}; "
               + ", ".join(f"{k} {display_number(v)}" for k, v in metrics)
               + ("; params " + ", ".join(f"{k}={display_number(v)}" for k, v in params) if params else "") + note)
    head = [(k, v) for k, v in metrics][:3]
    spoken = f"{_cap(_run_said(row))} reached " + \
        join_words([f"{metric_words(k)} {_mv(k, v, cat)}" for k, v in head]) + "."
    if run.note:
        spoken += " Its note says: " + run.note.rstrip(".") + "."
    return fact("details", display, spoken, [row.run_id])


def param_of_best(q: RunQuery, row: Row, cat: Catalog) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    is_metric = q.select.kind == "metric"
    value = row.value(name if is_metric else f"param:{name}")
    shown, said = scope(q)
    best = "best" if q.order is None or q.order.descending != lower_is_better(metric) else "worst"
    display = (f"{best.capitalize()} run by {metric}{_with(shown)}: {_run_shown(row, metric)}; "
               f"its {name} = {display_number(value)}")
    words = metric_words(name) if is_metric else param_words(name)
    if is_metric:
        setting = f"its {words} was {_mv(name, value, cat)}"
    elif _counted(words) and not isinstance(value, str):
        setting = f"it used {spoken_number(value)} {words}"
    else:
        setting = f"its {words} was {spoken_number(value)}"
    spoken = (f"The {best} run{' ' + said if said else ''} by {metric_words(metric)} is {_run_said(row, False)}, "
              f"at {_mv(metric, row.value(metric), cat)}; {setting}.")
    return fact("param_of_best", display, spoken, [row.run_id])


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


def grouped(q: RunQuery, rows: list[Row], cat: Catalog) -> Fact:
    agg = q.aggregate or "mean"
    shown, said = scope(q)
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


def best_param_value(q: RunQuery, rows: list[Row], cat: Catalog) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    shown, said = scope(q)
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
    return fact("best_param_value", display, spoken + ".", [rid for r in rows for rid in r.run_ids][:50])


def param_effect(q: RunQuery, rows: list[Row], rho: float | None, cat: Catalog) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    shown, said = scope(q)
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


def distribution(q: RunQuery, row: Row, cat: Catalog) -> Fact:
    metric = q.metric or ""
    shown, said = scope(q)
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


def compared(q: RunQuery, sides, cat: Catalog) -> Fact:
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
                entries.append((prefix + _run_shown(r, metric), f"{_run_said(r, False)} reached "
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


def compare_short(q: RunQuery, sides, cat: Catalog) -> Fact:
    found = [r for _, rows, _ in sides for r in rows]
    missing = [label for label, rows, kind in sides if kind == "none"]
    text = "There is only one run to compare" if found else "There are no runs to compare"
    if missing:
        text += f": no runs for {join_words(missing)}"
    display = text + (f" ({_run_shown(found[0], q.metric)})" if found else "") + "."
    spoken = text.replace("_", " ") + (f": {_run_said(found[0], False)}" if found and not missing else "") + "."
    return fact("compare", display, spoken, [r.run_id for r in found if r.run_id])


def which_to_flag(q: FlagRequest) -> Fact:
    text = ("Tell me which run to flag: name its id, or ask about a run first and then say 'flag it for publishing'."
            if not q.unflag else "Tell me which run to unflag: name its id, or ask about it first.")
    return fact("flag_request", text, text)


def flag(q: FlagRequest, row: Row, cat: Catalog) -> Fact:
    verb = "Unflagged" if q.unflag else "Flagged"
    action = (UNFLAG_ACTION if q.unflag else FLAG_ACTION, row.run_id, PUBLISH)
    display = f"{'Unflag' if q.unflag else 'Flag'} run {row.run_id} ({row.model_kind} on {row.dataset}) for publishing."
    spoken = f"{verb} {_run_said(row)} {'from' if q.unflag else 'for'} publishing."
    return fact("flag_request", display, spoken, [row.run_id], action)


def describe_runs_for(value: Any) -> str:
    return str(value)


__all__ = ["display_number", "with_article"]
