"""Facts from executed rows: one display text (full run ids, exact values) and one spoken text
(wording.py's rules) per statement, chosen from the result's shape.
"""
from __future__ import annotations

from datetime import datetime

from labvoice.knowledge.query.catalog import Catalog, lower_is_better
from labvoice.knowledge.query.model import ALL_PARAMS, Clarify, Fact, FlagRequest, Row, RunQuery
from labvoice.knowledge.store import MODEL_PARAM_KEYS
from labvoice.knowledge.query.wording import (dataset_words, display_number, for_ear, join_words, kind_words,
                                              metric_words, param_words, plural, run_words, spoken_metric_value,
                                              spoken_number, when_words)

from labvoice.knowledge.notes import FLAG_ACTION, PUBLISH, UNFLAG_ACTION

MAX_LISTED = 5        # runs named one by one; the rest are counted
MAX_SPOKEN = 3        # runs named one by one in speech


def fact(kind: str, display: str, spoken: str, run_ids=(), action=None) -> Fact:
    return Fact(kind, display, for_ear(spoken), tuple(run_ids), action)


def _moment(row: Row) -> datetime | None:
    try:
        return datetime.fromisoformat(row.timestamp) if row.timestamp else None
    except ValueError:
        return None


def _run_said(row: Row, definite: bool = True, *, now: datetime | None) -> str:
    return run_words(row.model_kind, row.dataset, _moment(row), now, definite=definite)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _run_shown(row: Row, metric: str | None = None, cat: Catalog | None = None) -> str:
    value = row.value(metric) if metric else None
    tail = f", {metric} {display_number(value)}" if metric and value is not None else ""
    return f"{row.run_id} ({row.model_kind or 'model'} on {row.dataset or '?'}{tail})"


def _mv(metric: str, value, cat: Catalog) -> str:
    return spoken_metric_value(metric, value, metric in cat.percent_metrics)


def _filter_words(f, now: datetime | None) -> tuple[str, str]:
    """(display, spoken) for one filter, for scope phrases."""
    kind, op, value = f.field.kind, f.op, f.value
    vals = value if isinstance(value, tuple) else (value,)
    ops = {"=": "=", "!=": "not", "<": "below", "<=": "at most", ">": "above", ">=": "at least",
           "between": "between", "in": "in", "not_in": "not", "contains": "mentioning"}
    if kind == "dataset":
        shown = " or ".join(str(v) for v in vals)
        said = join_words([dataset_words(str(v)) for v in vals], "or")
        return (f"on {shown}", f"on {said}") if op not in ("!=", "not_in") else (f"not on {shown}", f"not on {said}")
    if kind == "model":
        shown = " or ".join(str(v) for v in vals)
        said = join_words([kind_words(str(v)) for v in vals], "or")
        negated = op in ("!=", "not_in")
        return (f"{'not ' if negated else ''}{shown}", f"{'other than ' if negated else ''}{said}")
    if kind == "time":
        moment = datetime.fromisoformat(str(vals[0]))
        word = {">=": "since", ">": "after", "<": "before", "<=": "until"}.get(op, "on")
        return f"logged {word} {moment.isoformat(timespec='minutes')}", \
            f"logged {word} {when_words(moment, now).removeprefix('on ')}"
    if kind == "note":
        terms = "problems" if len(vals) > 2 else join_words([str(v) for v in vals], "or")
        if op in ("!=", "not_in"):
            return f"note not mentioning {' or '.join(map(str, vals))}", f"whose notes do not mention {terms}"
        return f"note mentioning {' or '.join(map(str, vals))}", f"whose notes mention {terms}"
    name = f.field.name or ""
    words = metric_words(name) if kind == "metric" else param_words(name)
    if kind == "metric":   # "above 90 percent" for an accuracy, whether stored as 0.9 or 90
        said_value = lambda v: spoken_metric_value(name, v, isinstance(v, (int, float)) and v > 1)  # noqa: E731
    else:
        said_value = spoken_number
    if op == "between":
        return f"{name} between {display_number(vals[0])} and {display_number(vals[1])}", \
            f"{words} between {said_value(vals[0])} and {said_value(vals[1])}"
    if op in ("in", "not_in"):
        return f"{name} {op.replace('_', ' ')} {', '.join(display_number(v) for v in vals)}", \
            f"{words} {'of' if op == 'in' else 'other than'} {join_words([said_value(v) for v in vals], 'or')}"
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


def scope(q: RunQuery, skip: tuple[str, ...] = (), *, now: datetime | None) -> tuple[str, str]:
    """(display, spoken) phrase for a query's filters: "on wine, using MLP, with learning rate below 0.01"."""
    filters = [f for f in q.filters if f.field.kind not in skip]
    parts = [(f.field.kind, *_filter_words(f, now)) for f in filters]
    display = ", ".join(p[1] for p in parts)
    said: list[str] = [p[2] for p in parts if p[0] == "dataset"]
    kinds = [p[2] for p, f in zip(parts, filters) if p[0] == "model" and f.op not in ("!=", "not_in")]
    if kinds:
        said.append("using " + " and ".join(kinds))
    avoided = [p[2].removeprefix("other than ") for p, f in zip(parts, filters)
               if p[0] == "model" and f.op in ("!=", "not_in")]
    if avoided:
        said.append("not using " + " or ".join(avoided))
    conds = [p[2] for p in parts if p[0] in ("metric", "param")]
    if conds:
        said.append("with " + join_words(conds))
    times = [f for f in filters if f.field.kind == "time"]
    if len(times) == 2 and {t.op for t in times} == {">=", "<"}:
        said.append(_time_span(times, now))
    else:
        said += [p[2] for p in parts if p[0] == "time"]
    said += [p[2] for p in parts if p[0] == "note"]
    return display, " ".join(said)


def _time_span(times, now: datetime | None) -> str:
    start = datetime.fromisoformat(str(next(t.value for t in times if t.op == ">=")))
    end = datetime.fromisoformat(str(next(t.value for t in times if t.op == "<")))
    if start.day == 1 and end.day == 1 and (end.month - start.month) % 12 == 1 and start.hour == 0:
        from labvoice.knowledge.query.wording import MONTHS

        return f"logged in {MONTHS[start.month - 1]}"
    if (end - start).days == 1:
        return f"logged {when_words(start, now)}"
    return f"logged between {when_words(start, now).removeprefix('on ')} and {when_words(end, now).removeprefix('on ')}"


def scope_words(q: RunQuery, *, now: datetime | None) -> str:
    return scope(q, now=now)[1]


def _with(scope_text: str) -> str:
    return f" ({scope_text})" if scope_text else ""


CAN_DO = ("I can rank runs by any metric, filter them by dataset, model, settings, values or time, count them, "
          "average them by model or dataset, show how a setting affects a metric, and compare runs.")


def unsupported(reason: str, about: str = "names") -> Fact:
    if about == "shape":
        said = f"{reason}." if reason.startswith("I can't") else "I can't work that out from the runs yet."
        return fact("unsupported", f"Cannot answer from the runs: {reason}.", f"{said} {CAN_DO}")
    return fact("unsupported", reason, reason)


def none_found(q: RunQuery, cat: Catalog, matching: int, *, now: datetime | None) -> Fact:
    shown, said = scope(q, now=now)
    what = f" with {q.metric}" if q.metric and matching else ""
    display = f"No runs{_with(shown)}{what}." if shown or what else "No runs match."
    spoken = f"There are no runs {said}{' with ' + metric_words(q.metric) if what else ''}." if said or what \
        else "There are no runs that match."
    return fact("no_match", display, spoken)


def ranked(q: RunQuery, rows: list[Row], cat: Catalog, matching: int, *, now: datetime | None) -> Fact:
    o = q.order
    shown, said = scope(q, now=now)
    name = o.field.name or "time"
    if o.field.kind == "time":
        adjective = "most recent" if o.descending else "earliest"
        display = f"{adjective.capitalize()} run(s){_with(shown)}: " + "; ".join(
            f"{_run_shown(r, q.metric)} logged {r.timestamp}" for r in rows)
        if len(rows) == 1:
            r = rows[0]
            extra = f", with {metric_words(q.metric)} {_mv(q.metric, r.value(q.metric), cat)}" \
                if q.metric and r.value(q.metric) is not None else ""
            spoken = f"The {adjective} run{' ' + said if said else ''} is {_run_said(r, False, now=now)}{extra}."
        else:
            spoken = f"The {len(rows)} {adjective} runs{' ' + said if said else ''} are " + \
                join_words([_run_said(r, False, now=now) for r in rows[:MAX_SPOKEN]]) + "."
        return fact("rank", display, spoken, [r.run_id for r in rows])
    lower = lower_is_better(name) if o.field.kind == "metric" else False
    good = (o.descending != lower) if o.field.kind == "metric" else None
    words = metric_words(name) if o.field.kind == "metric" else param_words(name)
    if good is None:
        adjective = "largest" if o.descending else "smallest"
    else:
        adjective = ("highest" if o.descending else "lowest") if name not in () else "best"
        adjective = "best" if good else "worst"
        if o.field.kind == "metric" and lower:
            adjective = "lowest" if good else "highest"
        if o.field.kind == "metric" and not good and not lower:
            adjective = "lowest"
        if o.field.kind == "metric" and any(w in name.lower() for w in ("time", "duration", "runtime", "seconds")):
            adjective = "longest" if o.descending else "shortest"
    if q.offset:   # "the second best"
        adjective = f"{ORDINAL_WORDS[min(q.offset, len(ORDINAL_WORDS) - 1)]} {adjective}"
    display = f"Runs by {name} ({'descending' if o.descending else 'ascending'}){_with(shown)}, {matching} match: " + \
        "; ".join(f"{q.offset + i + 1}. {_run_shown(r, name)}" for i, r in enumerate(rows))
    value_of = (lambda r: _mv(name, r.value(name), cat)) if o.field.kind == "metric" else \
        (lambda r: spoken_number(r.value(f'param:{name}')))
    if o.field.kind == "param":
        display = f"Runs by {name} ({'descending' if o.descending else 'ascending'}){_with(shown)}: " + \
            "; ".join(f"{i + 1}. {r.run_id} ({r.model_kind} on {r.dataset}, {name} "
                      f"{display_number(r.value('param:' + name))})" for i, r in enumerate(rows))
    in_scope = f" {said}" if said else ""
    if len(rows) == 1:
        r = rows[0]
        spoken = f"The run with the {adjective} {words}{in_scope} is {_run_said(r, False, now=now)}, " + \
            (f"at {value_of(r)}." if o.field.kind == "metric" else f"with {words} {value_of(r)}.")
    else:
        spoken = f"The top {len(rows)} runs by {words}{in_scope} are " + \
            join_words([f"{_run_said(r, False, now=now)} at {value_of(r)}" for r in rows[:MAX_SPOKEN]]) + \
            (f", and {len(rows) - MAX_SPOKEN} more" if len(rows) > MAX_SPOKEN else "") + "."
        if len(rows) < (q.limit or 1):
            spoken += f" Only {len(rows)} runs match."
    return fact("rank", display, spoken, [r.run_id for r in rows])


def listed(q: RunQuery, rows: list[Row], total: int, cat: Catalog, *, now: datetime | None) -> Fact:
    shown, said = scope(q, now=now)
    display = f"{total} runs{_with(shown)}: " + "; ".join(_run_shown(r, q.metric) for r in rows[:MAX_LISTED]) + \
        (f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else "")
    spoken = f"{plural(total, 'run')}{' ' + said if said else ''}. " + \
        ("They include " if total > MAX_SPOKEN else ("It is " if total == 1 else "They are ")) + \
        join_words([_run_said(r, False, now=now) + (f" at {_mv(q.metric, r.value(q.metric), cat)}"
                                            if q.metric and r.value(q.metric) is not None else "")
                    for r in rows[:MAX_SPOKEN]]) + "."
    return fact("list", display, spoken, [r.run_id for r in rows])


def counted(q: RunQuery, n: int, run_ids, *, now: datetime | None) -> Fact:
    shown, said = scope(q, now=now)
    display = f"{n} runs{_with(shown)}."
    spoken = f"{n} {'run' if n == 1 else 'runs'}{' ' + said if said else ''}." if said else \
        f"{n} {'run is' if n == 1 else 'runs are'} logged."
    if n == 0:
        spoken = f"There are no runs {said}." if said else "There are no runs yet."
    return fact("count", display, spoken, run_ids)


def flagged(q: RunQuery, rows: list[Row], total: int, cat: Catalog, *, now: datetime | None) -> Fact:
    shown, said = scope(q, now=now)
    if not rows:
        text = f"No runs{' ' + said if said else ''} are flagged for publishing yet."
        return fact("flagged", text, text)
    display = f"{total} runs flagged for publishing{_with(shown)}: " + "; ".join(
        _run_shown(r, q.metric) for r in rows[:MAX_LISTED]) + (f"; and {total - MAX_LISTED} more" if total > MAX_LISTED else "")
    spoken = f"{plural(total, 'run')} {'is' if total == 1 else 'are'} flagged for publishing: " + \
        join_words([_run_said(r, False, now=now) for r in rows[:MAX_SPOKEN]]) + \
        (f", and {total - MAX_SPOKEN} more" if total > MAX_SPOKEN else "") + "."
    return fact("flagged", display, spoken, [r.run_id for r in rows])


def noted(q: RunQuery, rows: list[Row], notes: dict[str, str], total: int, cat: Catalog, *, now: datetime | None) -> Fact:
    terms = [f for f in q.filters if f.field.kind == "note"]
    about = (terms[0].value if isinstance(terms[0].value, str) else "problems") if terms else "that"
    if not rows:
        text = f"No run notes mention {about}." if about != "problems" else "No run notes mention a problem."
        return fact("notes", text, text)
    display = f"{total} runs whose note matches {about}: " + "; ".join(
        f"{r.run_id} ({r.model_kind} on {r.dataset}, note: {notes.get(r.run_id, '')})" for r in rows[:MAX_LISTED])
    spoken = f"{plural(total, 'run')} {'has a note' if total == 1 else 'have notes'} about " + \
        ("problems" if about == "problems" else about) + ": " + \
        join_words([_run_said(r, False, now=now) for r in rows[:MAX_SPOKEN]]) + \
        (f", and {total - MAX_SPOKEN} more" if total > MAX_SPOKEN else "") + "."
    return fact("notes", display, spoken, [r.run_id for r in rows])


def details(q: RunQuery, row: Row, run, cat: Catalog, *, now: datetime | None) -> Fact:
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
            spoken = f"{_cap(_run_said(row, now=now))} used {spoken_number(value)} {words}."
        elif value is not None:
            spoken = f"{_cap(_run_said(row, now=now))} had {words} {said_value}."
        else:
            spoken = f"{_cap(_run_said(row, now=now))} has no {words} recorded."
        return fact("details", display, spoken, [row.run_id])
    metrics = [(k, v) for k, v in row.values if not k.startswith(("param:", "time"))]
    params = [(k[6:], v) for k, v in row.values if k.startswith("param:")]
    note = f"; note: {run.note}" if run.note else ""
    display = (f"Run {row.run_id}: {row.model_kind or 'model'} on {row.dataset}, logged {row.timestamp}; "
               + ", ".join(f"{k} {display_number(v)}" for k, v in metrics)
               + ("; params " + ", ".join(f"{k}={display_number(v)}" for k, v in params) if params else "") + note)
    head = [(k, v) for k, v in metrics][:3]
    spoken = f"{_cap(_run_said(row, now=now))} reached " + \
        join_words([f"{metric_words(k)} {_mv(k, v, cat)}" for k, v in head]) + "."
    if run.note:
        spoken += " Its note says: " + run.note.rstrip(".") + "."
    return fact("details", display, spoken, [row.run_id])


def param_of_best(q: RunQuery, row: Row, cat: Catalog, *, now: datetime | None) -> Fact:
    name, metric = q.select.name or "", q.metric or ""
    if name == ALL_PARAMS:
        return _settings_of_best(q, row, cat, now=now)
    is_metric = q.select.kind == "metric"
    value = row.value(name if is_metric else f"param:{name}")
    shown, said = scope(q, now=now)
    best = "best" if q.order is None or q.order.descending != lower_is_better(metric) else "worst"
    if q.offset:    # "what lr did the runner-up use"
        best = f"{ORDINAL_WORDS[min(q.offset, len(ORDINAL_WORDS) - 1)]} {best}"
    display = (f"{best.capitalize()} run by {metric}{_with(shown)}: {_run_shown(row, metric)}; "
               f"its {name} = {display_number(value)}")
    words = metric_words(name) if is_metric else param_words(name)
    if is_metric:
        setting = f"its {words} was {_mv(name, value, cat)}"
    elif _counted(words) and not isinstance(value, str):
        setting = f"it used {spoken_number(value)} {words}"
    else:
        setting = f"its {words} was {spoken_number(value)}"
    spoken = (f"The {best} run{' ' + said if said else ''} by {metric_words(metric)} is {_run_said(row, False, now=now)}, "
              f"at {_mv(metric, row.value(metric), cat)}; {setting}.")
    return fact("param_of_best", display, spoken, [row.run_id])


def _settings_of_best(q: RunQuery, row: Row, cat: Catalog, *, now: datetime | None) -> Fact:
    metric = q.metric or ""
    shown, said = scope(q, now=now)
    params = [(k[6:], v) for k, v in row.values if k.startswith("param:") and k[6:] not in MODEL_PARAM_KEYS
              and k[6:] not in ("dataset", "dataset_id")]
    best = "best" if q.order is None or q.order.descending != lower_is_better(metric) else "worst"
    display = (f"{best.capitalize()} run by {metric}{_with(shown)}: {_run_shown(row, metric)}; params "
               + ", ".join(f"{k}={display_number(v)}" for k, v in params))
    settings = join_words([f"{param_words(k)} {words_for_value(v) if isinstance(v, str) else spoken_number(v)}"
                           for k, v in params[:6]])
    spoken = (f"The {best} run{' ' + said if said else ''} by {metric_words(metric)} is {_run_said(row, False, now=now)}, "
              f"at {_mv(metric, row.value(metric), cat)}. Its settings: {settings or 'none recorded'}.")
    return fact("param_of_best", display, spoken, [row.run_id])


def which_to_flag(q: FlagRequest) -> Fact:
    text = ("Tell me which run to flag: name its id, or ask about a run first and then say 'flag it for publishing'."
            if not q.unflag else "Tell me which run to unflag: name its id, or ask about it first.")
    return fact("flag_request", text, text)


def flag(q: FlagRequest, row: Row, cat: Catalog, *, now: datetime | None) -> Fact:
    """One run of a write request: `display` names it with its id, `spoken` the way a colleague would
    ("the MLP on digits from today"); the answerer words the read-back or the confirmation from these."""
    action = (UNFLAG_ACTION if q.unflag else FLAG_ACTION, row.run_id, PUBLISH)
    display = f"{row.run_id} ({row.model_kind or 'model'} on {row.dataset or '?'})"
    return fact("flag_request", display, _run_said(row, False, now=now), [row.run_id], action)



ORDINAL_WORDS = ("", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh")


def clarify(q: Clarify) -> Fact:
    """Ask which of the names that fit was meant ("Do you mean CIFAR 10 or CIFAR 100?")."""
    words = {"dataset": dataset_words, "model": kind_words, "metric": metric_words, "param": param_words}[q.kind]
    options = [words(o) for o in q.options]
    display = f"'{q.said}' fits {len(q.options)} {q.kind} names: {', '.join(q.options)}. Which one?"
    spoken = f"Do you mean {join_words(options[:4], 'or')}?"
    return fact("clarify", display, spoken)


def per_group_ranked(q: RunQuery, rows: list[Row], cat: Catalog, *, now: datetime | None) -> Fact:
    """The best run of each group ("the best run on each dataset")."""
    metric = q.order.field.name or "" if q.order is not None else ""
    group = "dataset" if q.group_by is not None and q.group_by.kind == "dataset" else "model"
    shown, said = scope(q, now=now)
    best = "best" if q.order is None or q.order.descending != lower_is_better(metric) else "worst"
    display = f"{best.capitalize()} run per {group} by {metric}{_with(shown)}: " + "; ".join(
        f"{r.group}: {_run_shown(r, metric)}" for r in rows)
    label = dataset_words if group == "dataset" else kind_words
    spoken = f"The {best} run{' ' + said if said else ''} by {metric_words(metric)}, per {group}: " + join_words(
        [f"on {label(r.group or '')}, {_run_said(r, False, now=now)} at {_mv(metric, r.value(metric), cat)}"
         if group == "dataset" else f"for {label(r.group or '')}, {_run_said(r, False, now=now)} at "
         f"{_mv(metric, r.value(metric), cat)}" for r in rows[:MAX_SPOKEN]]) + \
        (f", and {len(rows) - MAX_SPOKEN} more" if len(rows) > MAX_SPOKEN else "") + "."
    return fact("rank", display, spoken, [r.run_id for r in rows if r.run_id])


def direction_guess(metric: str) -> Fact:
    """Said when the lexicon does not know which way a metric is better and higher was taken."""
    text = f"I took higher {metric_words(metric)} as better; ask for the lowest if smaller is better."
    return fact("note", f"Taking higher {metric} as better (a guess).", text)


def not_recorded(q: RunQuery, cat: Catalog, *, now: datetime | None) -> Fact:
    """The runs a question keeps do not record what it asks for."""
    shown, said = scope(q, now=now)
    name = q.select.name if q.select is not None else ""
    words = metric_words(name) if q.select is not None and q.select.kind == "metric" else param_words(name)
    display = f"No runs{_with(shown)} record {name}."
    spoken = f"The runs{' ' + said if said else ''} do not record {words}." if said else f"No run records {words}."
    return fact("no_match", display, spoken)
