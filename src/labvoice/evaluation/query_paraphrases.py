"""More phrasings for the query suite: the way people ask when they are not thinking about the tool
(indirect, chatty, clipped). Part of the suite (the parser may be tuned on them), unlike the held-out
batches. Ground truth from query_truth.py, as everywhere in the suite.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from labvoice.evaluation import query_truth as T
from labvoice.evaluation.query_suite import SPECS, SuiteQuestion


def paraphrases(name: str, db: Path, now: datetime) -> list[SuiteQuestion]:
    rows = T.read_truth_rows(db)
    spec = SPECS[name]
    m, loss = spec.metric, spec.loss
    ms, ls = spec.metric_said[0], spec.loss_said[0]
    datasets = [d for d in spec.datasets if any(r.dataset == d for r in rows)]
    models = [k for k in spec.models if any(r.model == k for r in rows)]
    d0, d1, d3 = datasets[0], datasets[1 % len(datasets)], datasets[3 % len(datasets)]
    k0, k1, k2 = models[0], models[1 % len(models)], models[2 % len(models)]
    d0s, d1s, d3s = (spec.datasets[d][0] for d in (d0, d1, d3))
    k0s, k1s, k2s = (spec.models[k][0] for k in (k0, k1, k2))
    items = list(spec.params.items())
    p, psaid = items[0]
    p2, p2said = items[1 % len(items)]
    out: list[SuiteQuestion] = []

    def add(shape: str, style: str, question: str, expect: dict, context: tuple[str, ...] = ()) -> None:
        out.append(SuiteQuestion(f"{name}-para-{len(out) + 1}", name, shape, style, question, expect, context))

    def top(pool, metric, k=1, best=True):
        return {"kind": "top", "field": metric, "values": [r.metrics[metric] for r in T.ranked(pool, metric, best)[:k]]}

    add("rank", "casual", f"what's the top performer on {d3s}?", top(T.where(rows, d3), m))
    add("rank", "plain", f"Which {k2s} got the highest {ms}?", top(T.where(rows, model=k2), m))
    add("rank", "terse", f"{d1s} leaderboard", top(T.where(rows, d1), m, 3))
    add("rank", "casual", f"which of my {k1s} runs was the weakest?", top(T.where(rows, model=k1), m, 1, best=False))
    add("rank", "plain", f"Which two runs have the lowest {ls} on {d0s}?", top(T.where(rows, d0), loss, 2))
    add("rank_time", "casual", "what was the last run I did?", {"kind": "ids", "ids": [T.by_time(rows)[0].run_id]})
    add("rank_time", "plain", f"Which {k2s} run did I train first?",
        {"kind": "ids", "ids": [T.by_time(T.where(rows, model=k2), latest=False)[0].run_id]})
    add("count", "casual", f"so how many experiments on {d3s} are there?", {"kind": "count", "count": len(T.where(rows, d3))})
    add("count", "terse", f"number of {k0s} runs", {"kind": "count", "count": len(T.where(rows, model=k0))})
    add("group", "casual", f"on average, how well does each dataset do on {ms}?",
        {"kind": "groups", "agg": "mean", "groups": T.group_values(rows, lambda r: r.dataset, m, "mean")})
    by_model = T.group_values(rows, lambda r: r.model, m, "mean")
    add("group", "plain", "Which type of model is weakest on average?", {"kind": "group_top", "group": min(by_model, key=by_model.get)})
    add("group", "terse", f"highest {ms} per model",
        {"kind": "groups", "agg": "max", "groups": T.group_values(rows, lambda r: r.model, m, "max")})
    best = T.ranked(T.where(rows, d1, test=lambda r: T.numeric_param(r, p) is not None), m)
    if best:
        add("param_of_best", "casual", f"what {psaid[0]} was my best {d1s} run using?",
            {"kind": "value", "field": f"param:{p}", "value": T.numeric_param(best[0], p)})
    means = T.group_values(rows, lambda r: T.numeric_param(r, p2), m, "mean")
    if len(means) >= 2:
        add("best_param_value", "plain", f"Which {p2said[0]} gives the best {ms} on average?",
            {"kind": "best_value", "value": max(means, key=means.get)})
    pairs = [(T.numeric_param(r, p2), r.metrics[m]) for r in rows if T.numeric_param(r, p2) is not None and m in r.metrics]
    add("param_effect", "casual", f"is there a correlation between {p2said[0]} and {ms}?",
        {"kind": "effect", "rho": T.spearman([a for a, _ in pairs], [b for _, b in pairs]) if len(pairs) >= 3 else None})
    add("distribution", "casual", f"what range does {ms} cover on {d0s}?",
        {"kind": "stats", **T.quartiles([r.metrics[m] for r in T.where(rows, d0) if m in r.metrics])})
    add("distribution", "plain", f"Give me the median and quartiles of {ls}.",
        {"kind": "stats", **T.quartiles([r.metrics[loss] for r in rows if loss in r.metrics])})
    ids = [T.ranked(T.where(rows, model=k), m)[0].run_id for k in (k1, k2)]
    add("compare", "casual", f"who wins, {k1s} or {k2s}?", {"kind": "ids", "ids": ids})
    add("compare", "plain", f"How does the best {k1s} stack up against the best {k2s}?", {"kind": "ids", "ids": ids})
    add("details", "casual", f"what do we know about run {rows[7].run_id}?", {"kind": "ids", "ids": [rows[7].run_id]})
    flagged = [r.run_id for r in rows if "PUBLISH" in r.note.split(";")[0].split()]
    add("flagged", "casual", "what did I mark for the paper?", {"kind": "ids", "ids": flagged})
    bad = [r.run_id for r in rows if any(w in r.note.lower() for w in ("diverg", "nan", "explod", "unstable"))]
    add("notes", "casual", "did any runs go wrong?", {"kind": "ids", "ids": bad})
    values = sorted(r.metrics[m] for r in rows if m in r.metrics)
    cut = values[len(values) // 3]
    cut = round(cut, 2) if not spec.percent else round(cut)
    add("list", "casual", f"which runs scored under {cut:g} {ms}?",
        {"kind": "ids", "ids": [r.run_id for r in rows if m in r.metrics and r.metrics[m] < cut]})
    if name != "demo":
        recent = [r.run_id for r in rows if r.time and r.time >= now - timedelta(days=14)]
        add("list", "plain", "Which runs did I log in the last 2 weeks?", {"kind": "ids", "ids": recent})
    add("bad_input", "casual", "how did my xgboost runs do on imagenet?", {"kind": "unsupported"})
    return out
