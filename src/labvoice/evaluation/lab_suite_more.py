"""More of the lab suite's operators (lab_suite.LabGen writes the rest): speed words and durations over a time
metric ("fastest", "took more than three hours", "under 90 minutes" against seconds), the metric a subset
records (a regression dataset among classification ones), the direction of minimised metrics called
"best", and names as a lab says them (ran out of memory, batch size, epochs, C, depth).
"""
from __future__ import annotations

import math
from typing import Any

from labvoice.evaluation import lab_dbs as L

LabGen = Any   # a lab_suite.LabGen (not imported: lab_suite imports this module)

HOUR, MINUTE = 3600.0, 60.0
# (how it is said, seconds, over (True) or under)
DURATIONS = (("Which runs took more than three hours?", 3 * HOUR, True, "plain"),
             ("runs longer than 2 hours", 2 * HOUR, True, "terse"),
             ("what finished in under 90 minutes?", 90 * MINUTE, False, "casual"),
             ("Which fine-tunes ran for less than an hour?", HOUR, False, "plain"),
             ("anything that took over 4h?", 4 * HOUR, True, "casual"),
             ("runs under 30 min", 30 * MINUTE, False, "terse"),
             ("Which runs took longer than two and a half hours?", 2.5 * HOUR, True, "plain"),
             ("runs that trained for more than 10000 seconds", 10000.0, True, "terse"),
             ("which jobs needed more than three and a half hours?", 3.5 * HOUR, True, "casual"))


def speed(g: LabGen) -> None:
    t = g.said.runtime
    if t is None:
        return
    g.add("speed", "plain", "Which run trained the fastest?", L.top(g.rows, t, g.conv), (t,))
    g.add("speed", "casual", "what's my slowest run?", L.top(g.rows, t, g.conv, best=False), (t,))
    forms = (("fastest run on {d}", "terse"), ("Which {d} run was the quickest?", "plain"),
             ("what was the slowest thing I ran on {d}?", "casual"))
    for i, d in enumerate(g.datasets):
        text, style = forms[i % len(forms)]
        g.add("speed", style, text.format(d=g.ds_said(d, i)), L.top(g.pool(d), t, g.conv, best="slowest" not in text), (t, d))
    for i, k in enumerate(g.models[:3]):
        text = (f"Which {g.mo_said(k, i)} run finished fastest?", f"quickest {g.mo_said(k, i)} run")[i % 2]
        g.add("speed", ("plain", "terse")[i % 2], text, L.top(g.pool(model=k), t, g.conv), (t, k))
    main = [d for d in g.datasets if g.metric_of(d) == g.m]
    for i, d in enumerate(main[:2]):
        tied = L.best_rows(g.pool(d), g.m, g.conv)
        g.add("speed", ("plain", "casual")[i], (f"How long did the best run on {g.ds_said(d, i)} take to train?",
                                                f"how long did my top {g.ds_said(d, i)} run take?")[i],
              {"kind": "value_in", "field": t, "values": sorted({r.metrics[t] for r in tied if t in r.metrics})}, (d,))


def durations(g: LabGen) -> None:
    t = g.said.runtime
    if t is None:
        return
    values = [r.metrics[t] for r in g.rows if t in r.metrics]
    if max(values) < MINUTE:          # a fit time in seconds, well under a minute: milliseconds
        cut_ms = math.ceil(sorted(values)[len(values) // 2] * 1000)
        for i, text in enumerate((f"Which runs fit in under {cut_ms} milliseconds?", f"fit time below {cut_ms} ms",
                                  f"anything that took longer than {cut_ms} ms to fit?")):
            over = i == 2
            g.add("duration", ("plain", "terse", "casual")[i], text,
                  L.ids(r for r in g.rows if t in r.metrics and ((r.metrics[t] > cut_ms / 1000) if over
                                                                  else (r.metrics[t] < cut_ms / 1000))), (t,))
        return
    for text, seconds, over, style in DURATIONS:
        g.add("duration", style, text, L.ids(r for r in g.rows if t in r.metrics and
                                            ((r.metrics[t] > seconds) if over else (r.metrics[t] < seconds))), (t,))
    for i, d in enumerate(g.datasets[:2]):
        text = (f"Which {g.ds_said(d, i)} runs took over an hour?", f"{g.ds_said(d, i)} runs under 45 minutes")[i]
        seconds, over = ((HOUR, True), (45 * MINUTE, False))[i]
        g.add("duration", ("plain", "terse")[i], text,
              L.ids(r for r in g.pool(d) if t in r.metrics and ((r.metrics[t] > seconds) if over else (r.metrics[t] < seconds))),
              (t, d))
    g.add("duration", "plain", "Which runs took between one and two hours?",
          L.ids(r for r in g.rows if HOUR <= r.metrics.get(t, -1) <= 2 * HOUR), (t,))
    k = g.models[0]
    g.add("duration", "casual", f"did any {g.mo_said(k)} run take more than an hour?",
          L.ids(r for r in g.pool(model=k) if r.metrics.get(t, 0) > HOUR), (t, k))


def subset_metric(g: LabGen) -> None:
    for d, metric in g.said.subsets.items():
        pool = g.pool(d)
        for i, (p, said) in enumerate(g.said.params.items()):
            tied = L.best_rows(pool, metric, g.conv)
            q = (f"The top run on {g.ds_said(d, i)}: what was its {said[0]}?", f"{said[-1]} of the top {g.ds_said(d, i)} run",
                 f"for my best {g.ds_said(d, i)} run, what was the {said[0]}?")[i % 3]
            g.add("subset_metric", ("plain", "terse", "casual")[i % 3], q,
                  {"kind": "value_in", "field": f"param:{p}", "values": sorted({L.number(r, p) for r in tied})}, (d, p))
        g.add("subset_metric", "plain", f"Which model comes out on top on {g.ds_said(d, 1)}?", L.top(pool, metric, g.conv), (d,))
        g.add("subset_metric", "terse", f"best {g.ds_said(d, 2)} run", L.top(pool, metric, g.conv), (d,))
        g.add("subset_metric", "casual", f"who's second on {g.ds_said(d, 0)}?", L.top(pool, metric, g.conv, skip=1), (d,))
        k = g.models[1]
        g.add("subset_metric", "plain", f"What's the best {g.ds_said(d, 1)} run that isn't {g.mo_said(k)}?",
              L.top(g.pool(d, test=lambda r: g.model(r) != k), metric, g.conv), (d, k))
        g.add("subset_metric", "terse", f"top 3 runs on {g.ds_said(d, 1)}", L.top(pool, metric, g.conv, k=3), (d,))
        g.add("subset_metric", "casual", f"{g.ds_said(d, 2)}: the strongest run of every model?",
              L.per_group(pool, metric, g.conv, g.model), (d,))


def direction(g: LabGen) -> None:
    lowers = [g.said.loss] + [m for m in g.said.metrics if m in g.conv.lower]
    said = {g.said.loss: g.said.loss_said, **g.said.metrics}
    forms = (("Which run has the best {m} on {d}?", True, "plain"), ("best {m} {d}", True, "terse"),
             ("who's got the worst {m} on {d}?", False, "casual"), ("Which run has the best {m} of all?", True, "plain"))
    n = 0
    for metric in lowers:
        for d in [d for d in g.datasets if any(metric in r.metrics for r in g.pool(d))][:3]:
            text, best, style = forms[n % len(forms)]
            pool = g.rows if "of all" in text else g.pool(d)
            q = text.format(m=said[metric][n % len(said[metric])], d=g.ds_said(d, n))
            g.add("direction", style, q, L.top(pool, metric, g.conv, best=best),
                  (metric,) if "of all" in text else (metric, d))
            n += 1


def names_of_a_lab(g: LabGen) -> None:
    if g.name == "hf":
        for i, text in enumerate(("Which runs ran out of memory?", "did anything OOM?",
                                  "runs that hit CUDA out of memory", "Show me the runs that crashed for lack of GPU memory.")):
            g.add("names", ("plain", "casual", "terse", "plain")[i], text, L.ids(r for r in g.rows if "oom" in r.note.lower()))
        for i, (p, text) in enumerate((("per_device_train_batch_size", "What batch size did the best roberta-large run use?"),
                                       ("num_train_epochs", "how many epochs did my best imdb run train for?"),
                                       ("per_device_train_batch_size", "batch size of the top mrpc run"))):
            pool = g.pool(model="roberta-large") if i == 0 else g.pool("imdb" if i == 1 else "glue/mrpc")
            tied = L.best_rows(pool, g.m, g.conv)
            g.add("names", ("plain", "casual", "terse")[i], text,
                  {"kind": "value_in", "field": f"param:{p}", "values": sorted({L.number(r, p) for r in tied})},
                  (p, "roberta-large" if i == 0 else ("imdb" if i == 1 else "glue/mrpc")))
        g.add("names", "plain", "Which runs trained for 5 epochs?",
              L.ids(r for r in g.rows if L.number(r, "num_train_epochs") == 5), ("num_train_epochs",))
        g.add("names", "terse", "runs with batch size 8", L.ids(r for r in g.rows if L.number(r, "per_device_train_batch_size") == 8),
              ("per_device_train_batch_size",))
    if g.name == "sklearn":
        for i, (model, d, p, text) in enumerate((
                ("SVC", "hastie_10_2", "param_C", "the best SVC on the Hastie data: which C?"),
                ("RandomForestClassifier", "make_circles", "param_max_depth", "depth of the best random forest on circles"),
                ("RandomForestClassifier", "make_moons", "param_n_estimators", "how many trees did the top random forest on moons have?"))):
            tied = L.best_rows(g.pool(d, model), g.m, g.conv)
            g.add("names", ("plain", "terse", "casual")[i], text,
                  {"kind": "value_in", "field": f"param:{p}", "values": sorted({L.number(r, p) for r in tied})}, (model, d, p))
    if g.name == "mlflow":
        tied = L.best_rows(g.pool("imagenet-1k"), g.m, g.conv)
        g.add("names", "plain", "What depth did the best ImageNet model have?",
              {"kind": "value_in", "field": "param:model.depth", "values": sorted({L.number(r, "model.depth") for r in tied})},
              ("imagenet-1k", "model.depth"))
        g.add("names", "terse", "runs with depth 50", L.ids(r for r in g.rows if L.number(r, "model.depth") == 50), ("model.depth",))
    if g.name == "keras":
        tied = L.best_rows(g.pool("tf_flowers"), g.m, g.conv)
        g.add("names", "casual", "for the best flowers run, how many epochs did it train?",
              {"kind": "value_in", "field": "param:epochs", "values": sorted({L.number(r, "epochs") for r in tied})},
              ("tf_flowers", "epochs"))


def more_questions(g: LabGen) -> None:
    for step in (speed, durations, subset_metric, direction, names_of_a_lab):
        step(g)
