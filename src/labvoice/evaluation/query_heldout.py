"""Held-out questions for the query suite: written before the parser was tuned, phrased unlike its
exemplars and the suite's templates, and never used to tune it. They estimate how well the parser
generalises to wordings nobody planned for. Ground truth comes from query_truth.py as in the suite.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from labvoice.evaluation import query_truth as T
from labvoice.evaluation.query_suite import SPECS, SuiteQuestion


def heldout(name: str, db: Path, now: datetime) -> list[SuiteQuestion]:
    rows = T.read_truth_rows(db)
    spec = SPECS[name]
    m, loss = spec.metric, spec.loss
    ms, ls = spec.metric_said[0], spec.loss_said[0]
    datasets = [d for d in spec.datasets if any(r.dataset == d for r in rows)]
    models = [k for k in spec.models if any(r.model == k for r in rows)]
    d0, d1 = datasets[0], datasets[1 % len(datasets)]
    k0, k1 = models[0], models[1 % len(models)]
    d0s, d1s = spec.datasets[d0][0], spec.datasets[d1][0]
    k0s, k1s = spec.models[k0][0], spec.models[k1][0]
    p, psaid = next(iter(spec.params.items()))
    out: list[SuiteQuestion] = []

    def add(shape: str, question: str, expect: dict, context: tuple[str, ...] = ()) -> None:
        out.append(SuiteQuestion(f"{name}-heldout-{len(out) + 1}", name, shape, "heldout", question, expect,
                                 context, split="heldout"))

    def top(pool, metric, k=1, best=True):
        return {"kind": "top", "field": metric, "values": [r.metrics[metric] for r in T.ranked(pool, metric, best)[:k]]}

    add("rank", f"If I had to pick one {d0s} model to ship, which run would it be?", top(T.where(rows, d0), m))
    add("rank", f"Out of everything on {d1s}, what scored highest?", top(T.where(rows, d1), m))
    add("rank", f"List the four runs with the lowest {ls}.", top(rows, loss, 4))
    add("rank", f"Which {k1s} performed the poorest?", top(T.where(rows, model=k1), m, 1, best=False))
    add("rank_time", "What was the last thing I trained?", {"kind": "ids", "ids": [T.by_time(rows)[0].run_id]})
    add("rank_time", f"When did I first try {k0s}? Which run was that?",
        {"kind": "ids", "ids": [T.by_time(T.where(rows, model=k0), latest=False)[0].run_id]})
    add("count", f"How many experiments have I logged with {k0s}?", {"kind": "count", "count": len(T.where(rows, model=k0))})
    add("count", f"Count the {d1s} experiments for me.", {"kind": "count", "count": len(T.where(rows, d1))})
    add("group", f"On average, how do the model families stack up on {ms}?",
        {"kind": "groups", "agg": "mean", "groups": T.group_values(rows, lambda r: r.model, m, "mean")})
    by_ds = T.group_values(rows, lambda r: r.dataset, m, "mean")
    add("group", "Which benchmark gives my models the most trouble on average?",
        {"kind": "group_top", "group": min(by_ds, key=by_ds.get)})
    add("group", f"Typical {ms} for a {k1s}?",
        {"kind": "groups", "agg": "mean", "groups": T.group_values(T.where(rows, model=k1), lambda r: "all", m, "mean")})
    best = T.ranked(T.where(rows, model=k0), m)[0]
    add("param_of_best", f"For my top {k0s}, what was the {psaid[0]} set to?",
        {"kind": "value", "field": f"param:{p}", "value": T.numeric_param(best, p)})
    means = T.group_values(rows, lambda r: T.numeric_param(r, p), m, "mean")
    add("best_param_value", f"Averaged over runs, which {psaid[0]} value gives the best {ms}?",
        {"kind": "best_value", "value": max(means, key=means.get)})
    pairs = [(T.numeric_param(r, p), r.metrics[m]) for r in rows if T.numeric_param(r, p) is not None and m in r.metrics]
    add("param_effect", f"Is there any relationship between {psaid[0]} and {ms}?",
        {"kind": "effect", "rho": T.spearman([a for a, _ in pairs], [b for _, b in pairs])})
    add("param_effect", f"Does raising the {psaid[0]} help or hurt {ms}?",
        {"kind": "effect", "rho": T.spearman([a for a, _ in pairs], [b for _, b in pairs])})
    add("distribution", f"Give me the min, median and max {ms}.",
        {"kind": "stats", **T.quartiles([r.metrics[m] for r in rows if m in r.metrics])})
    ids = [T.ranked(T.where(rows, model=k), m)[0].run_id for k in (k0, k1)]
    add("compare", f"Put my best {k0s} and my best {k1s} side by side.", {"kind": "ids", "ids": ids})
    add("compare", f"Between {k0s} and {k1s}, which came out ahead?", {"kind": "ids", "ids": ids})
    add("details", f"Pull up the record for {rows[10].run_id}.", {"kind": "ids", "ids": [rows[10].run_id]})
    flagged = [r.run_id for r in rows if "PUBLISH" in r.note.split(";")[0].split()]
    add("flagged", "What have I earmarked for publication?", {"kind": "ids", "ids": flagged})
    bad = [r.run_id for r in rows if any(w in r.note.lower() for w in ("diverg", "nan", "explod", "unstable"))]
    add("notes", "Were there any runs where training went off the rails?", {"kind": "ids", "ids": bad})
    values = sorted(r.metrics[m] for r in rows if m in r.metrics)
    cut = values[int(len(values) * 0.75)]
    cut = round(cut, 2) if not spec.percent else round(cut)
    add("list", f"Anything that cleared {cut:g} {ms}?", {"kind": "ids", "ids": [r.run_id for r in rows if r.metrics.get(m, -1e9) > cut]})
    if name != "demo":
        recent = [r.run_id for r in rows if r.time and r.time >= now - timedelta(days=7)]
        add("list", "Show me what I ran over the past week.", {"kind": "ids", "ids": recent})
    add("bad_input", "Which run had the best AUC?", {"kind": "unsupported"})
    return out


def heldout_fresh(name: str, db: Path, now: datetime) -> list[SuiteQuestion]:
    """A second held-out batch, written after the first batch had been looked at (so the first is no
    longer a clean estimate); committed before any tuning against it."""
    rows = T.read_truth_rows(db)
    spec = SPECS[name]
    m, loss = spec.metric, spec.loss
    ms, ls = spec.metric_said[0], spec.loss_said[0]
    datasets = [d for d in spec.datasets if any(r.dataset == d for r in rows)]
    models = [k for k in spec.models if any(r.model == k for r in rows)]
    d0, d2 = datasets[0], datasets[2 % len(datasets)]
    k0, k2 = models[0], models[2 % len(models)]
    d0s, d2s = spec.datasets[d0][0], spec.datasets[d2][0]
    k0s, k2s = spec.models[k0][0], spec.models[k2][0]
    items = list(spec.params.items())
    p, psaid = items[0]
    p2, p2said = items[1 % len(items)]
    out: list[SuiteQuestion] = []

    def add(shape: str, question: str, expect: dict, context: tuple[str, ...] = ()) -> None:
        out.append(SuiteQuestion(f"{name}-fresh-{len(out) + 1}", name, shape, "heldout", question, expect,
                                 context, split="fresh"))

    def top(pool, metric, k=1, best=True):
        return {"kind": "top", "field": metric, "values": [r.metrics[metric] for r in T.ranked(pool, metric, best)[:k]]}

    add("rank", f"Which experiment on {d2s} has the most impressive {ms}?", top(T.where(rows, d2), m))
    add("rank", f"Name the three {k0s} runs that did best.", top(T.where(rows, model=k0), m, 3))
    add("rank", f"What's the single worst result on {d0s}?", top(T.where(rows, d0), m, 1, best=False))
    add("rank", f"Rank my {k2s} runs by {ls}, top 2 only.", top(T.where(rows, model=k2), loss, 2))
    add("rank_time", f"What's the latest thing I ran on {d2s}?", {"kind": "ids", "ids": [T.by_time(T.where(rows, d2))[0].run_id]})
    add("count", f"How many {d2s} runs do I have?", {"kind": "count", "count": len(T.where(rows, d2))})
    add("count", f"In total, how many times did I train a {k2s}?", {"kind": "count", "count": len(T.where(rows, model=k2))})
    by_model = T.group_values(rows, lambda r: r.model, m, "mean")
    add("group", f"Which kind of model has the highest average {ms}?", {"kind": "group_top", "group": max(by_model, key=by_model.get)})
    add("group", f"Break down the mean {ls} by dataset.",
        {"kind": "groups", "agg": "mean", "groups": T.group_values(rows, lambda r: r.dataset, loss, "mean")})
    best = T.ranked(T.where(rows, d2, test=lambda r: T.numeric_param(r, p2) is not None), m)
    if best:
        add("param_of_best", f"Which {p2said[0]} was used by my best {d2s} run?",
            {"kind": "value", "field": f"param:{p2}", "value": T.numeric_param(best[0], p2)})
    pairs = [(T.numeric_param(r, p2), r.metrics[m]) for r in rows if T.numeric_param(r, p2) is not None and m in r.metrics]
    add("param_effect", f"Is {ms} sensitive to the {p2said[0]}?",
        {"kind": "effect", "rho": T.spearman([a for a, _ in pairs], [b for _, b in pairs])})
    means = T.group_values(rows, lambda r: T.numeric_param(r, p2), m, "mean")
    add("best_param_value", f"Looking at averages, what {p2said[0]} should I go with?",
        {"kind": "best_value", "value": max(means, key=means.get)})
    add("distribution", f"Summarise how {ls} is distributed across my runs.",
        {"kind": "stats", **T.quartiles([r.metrics[loss] for r in rows if loss in r.metrics])})
    ids = [T.ranked(T.where(rows, model=k), m)[0].run_id for k in (k0, k2)]
    add("compare", f"How does my strongest {k0s} do against my strongest {k2s}?", {"kind": "ids", "ids": ids})
    add("details", f"Give me everything you know about {rows[12].run_id}.", {"kind": "ids", "ids": [rows[12].run_id]})
    flagged = [r.run_id for r in rows if "PUBLISH" in r.note.split(";")[0].split()]
    add("flagged", "Which results did I mark to publish?", {"kind": "ids", "ids": flagged})
    bad = [r.run_id for r in rows if any(w in r.note.lower() for w in ("diverg", "nan", "explod", "unstable"))]
    add("notes", "Any training runs that blew up or went unstable?", {"kind": "ids", "ids": bad})
    pvals = sorted({T.numeric_param(r, p) for r in rows if T.numeric_param(r, p) is not None})
    v = pvals[len(pvals) // 2]
    add("list", f"Find the runs where {psaid[0]} was exactly {v:g}.",
        {"kind": "ids", "ids": [r.run_id for r in rows if T.numeric_param(r, p) == v]})
    add("bad_input", "Which run used the most GPU memory?", {"kind": "unsupported"})
    add("bad_input", f"What's the best {ms} on ImageNet-1k?", {"kind": "unsupported"})
    return out
