"""The query suite: questions of every query shape, each in several phrasings (plain, casual, terse,
speech-to-text slips), over three DBs, with ground truth from query_truth.py (plain Python over the DB,
independent of the parser and executor).

`SPECS` says how a person names each DB's things (that is knowledge about the DB, not about the
parser); `generate(db_name, db_path, now)` writes the questions. `HELD_OUT` questions were written
before the parser was tuned and are phrased unlike its exemplars; they estimate generalisation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from labvoice.evaluation import query_truth as T


@dataclass(frozen=True)
class SuiteQuestion:
    id: str
    db: str
    shape: str
    style: str                     # plain | casual | terse | stt | followup | heldout
    question: str
    expect: dict[str, Any]
    context: tuple[str, ...] = ()  # questions asked before it in the same conversation
    split: str = "suite"           # suite | heldout


@dataclass(frozen=True)
class Spec:
    metric: str                         # headline, higher is better
    metric_said: tuple[str, ...]
    loss: str                           # lower is better
    loss_said: tuple[str, ...]
    params: dict[str, tuple[str, ...]]  # numeric parameters -> how they are said
    datasets: dict[str, tuple[str, ...]]
    models: dict[str, tuple[str, ...]]
    percent: bool = False               # metric stored as a percentage
    epochs: str = "epochs"
    extra: dict[str, Any] = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "demo": Spec("val_accuracy", ("validation accuracy", "val accuracy", "accuracy"), "val_loss",
                 ("validation loss", "val loss"),
                 {"learning_rate": ("learning rate", "lr"), "epochs": ("epochs",), "alpha": ("alpha",)},
                 {"digits": ("digits",), "iris": ("iris",), "wine": ("wine",), "breast_cancer": ("breast cancer",)},
                 {"mlp": ("MLP", "neural net"), "random_forest": ("random forest",), "linear_svm": ("linear SVM", "SDM"),
                  "logistic_regression": ("logistic regression",), "perceptron": ("perceptron",)}),
    "documented": Spec("val_acc", ("validation accuracy", "val acc", "accuracy"), "train_loss",
                       ("training loss", "train loss"),
                       {"learning_rate": ("learning rate", "lr"), "n_epochs": ("epochs",), "batch_size": ("batch size",),
                        "dropout": ("dropout",)},
                       {"mnist": ("mnist", "M NIST"), "fashion_mnist": ("fashion mnist",), "cifar10": ("cifar10", "cifar 10")},
                       {"cnn": ("CNN",), "svm": ("SVM", "SDM"), "mlp": ("MLP",), "logreg": ("logistic regression",),
                        "resnet18": ("resnet",)}, epochs="n_epochs"),
    "foreign": Spec("val_acc", ("validation accuracy", "val accuracy", "accuracy"), "val_loss",
                    ("validation loss", "val loss"),
                    {"init_lr": ("learning rate", "initial learning rate"), "n_units_1": ("units in layer 1",),
                     "n_epochs": ("epochs",), "batch_size": ("batch size",)},
                    {"naval_propulsion": ("naval propulsion",), "slice_localization": ("slice localization",),
                     "protein_structure": ("protein structure",), "parkinsons_telemonitoring": ("parkinsons telemonitoring",)},
                    {"mlp": ("MLP",), "random_forest": ("random forest",), "gradient_boosting": ("gradient boosting",)},
                    percent=True, epochs="n_epochs"),
}


def _fmt(value: float) -> str:
    return f"{value:g}"


class _Gen:
    def __init__(self, name: str, rows: list[T.TruthRow], spec: Spec, now: datetime) -> None:
        self.name, self.rows, self.spec, self.now = name, rows, spec, now
        self.out: list[SuiteQuestion] = []
        self.datasets = [d for d in spec.datasets if any(r.dataset == d for r in rows)]
        self.models = [m for m in spec.models if any(r.model == m for r in rows)]

    def add(self, shape: str, style: str, question: str, expect: dict, context: tuple[str, ...] = ()) -> None:
        self.out.append(SuiteQuestion(f"{self.name}-{shape}-{len(self.out) + 1}", self.name, shape, style, question,
                                      expect, context))

    def ds(self, i: int) -> str:
        return self.datasets[i % len(self.datasets)]

    def ds_said(self, i: int, variant: int = 0) -> str:
        said = self.spec.datasets[self.ds(i)]
        return said[variant % len(said)]

    def model(self, i: int) -> str:
        return self.models[i % len(self.models)]

    def model_said(self, i: int, variant: int = 0) -> str:
        said = self.spec.models[self.model(i)]
        return said[variant % len(said)]

    def top(self, rows, metric, k=1, best=True) -> dict:
        ranked = T.ranked(rows, metric, best)[:k]
        return {"kind": "top", "field": metric, "values": [r.metrics[metric] for r in ranked]}

    # --- shapes -------------------------------------------------------------------------------
    def rank(self) -> None:
        s, m = self.spec, self.spec.metric
        ms = s.metric_said
        self.add("rank", "plain", f"Which run has the best {ms[0]} on {self.ds_said(0)}?",
                 self.top(T.where(self.rows, self.ds(0)), m))
        self.add("rank", "casual", f"what's my strongest {self.ds_said(1)} run?", self.top(T.where(self.rows, self.ds(1)), m))
        self.add("rank", "terse", f"best {ms[1]} {self.ds_said(2)}", self.top(T.where(self.rows, self.ds(2)), m))
        self.add("rank", "plain", f"Show me the three strongest runs on {self.ds_said(0)}.",
                 self.top(T.where(self.rows, self.ds(0)), m, 3))
        self.add("rank", "terse", f"top 5 runs by {ms[0]}", self.top(self.rows, m, 5))
        self.add("rank", "casual", f"gimme the two best {self.model_said(0)} runs", self.top(T.where(self.rows, model=self.model(0)), m, 2))
        self.add("rank", "plain", f"Which {self.model_said(1)} run has the worst {ms[0]}?",
                 self.top(T.where(self.rows, model=self.model(1)), m, 1, best=False))
        self.add("rank", "terse", f"weakest run on {self.ds_said(1)}", self.top(T.where(self.rows, self.ds(1)), m, 1, best=False))
        self.add("rank", "plain", f"Which run has the lowest {s.loss_said[0]}?", self.top(self.rows, s.loss, 1))
        self.add("rank", "casual", f"who got the best {s.loss_said[1]} on {self.ds_said(2)}?",
                 self.top(T.where(self.rows, self.ds(2)), s.loss, 1))
        self.add("rank", "stt", f"best {self.model_said(2, 1)} on {self.ds_said(0, 1)}",
                 self.top(T.where(self.rows, self.ds(0), self.model(2)), m))

    def rank_time(self) -> None:
        latest = T.by_time(T.where(self.rows, self.ds(0)))
        self.add("rank_time", "plain", f"What did I train most recently on {self.ds_said(0)}?",
                 {"kind": "ids", "ids": [latest[0].run_id]})
        latest_m = T.by_time(T.where(self.rows, model=self.model(0)))
        self.add("rank_time", "terse", f"latest {self.model_said(0)} run", {"kind": "ids", "ids": [latest_m[0].run_id]})
        self.add("rank_time", "casual", "what's the newest run?", {"kind": "ids", "ids": [T.by_time(self.rows)[0].run_id]})
        first = T.by_time(self.rows, latest=False)
        self.add("rank_time", "plain", "What was the first run ever logged?", {"kind": "ids", "ids": [first[0].run_id]})
        self.add("rank_time", "terse", f"oldest {self.ds_said(1)} run",
                 {"kind": "ids", "ids": [T.by_time(T.where(self.rows, self.ds(1)), latest=False)[0].run_id]})

    def rank_param(self) -> None:
        for i, (p, said) in enumerate(list(self.spec.params.items())[:3]):
            vals = [T.numeric_param(r, p) for r in self.rows if T.numeric_param(r, p) is not None]
            if not vals:
                continue
            style = ("plain", "casual", "terse")[i]
            q = (f"Which run used the largest {said[0]}?", f"who had the smallest {said[0]}?",
                 f"highest {said[0]} run")[i]
            value = min(vals) if "smallest" in q else max(vals)
            self.add("rank_param", style, q, {"kind": "top", "field": f"param:{p}", "values": [value]})

    def list_(self) -> None:
        s, m = self.spec, self.spec.metric
        values = sorted(r.metrics[m] for r in self.rows if m in r.metrics)
        cut = values[int(len(values) * 0.8)]
        cut = round(cut, 2) if not s.percent else round(cut)
        said_cut = _fmt(cut)
        ids = [r.run_id for r in self.rows if r.metrics.get(m, -1e9) > cut]
        self.add("list", "plain", f"Which runs have {s.metric_said[0]} above {said_cut}?", {"kind": "ids", "ids": ids})
        self.add("list", "casual", f"show me everything with {s.metric_said[1]} over {said_cut}", {"kind": "ids", "ids": ids})
        p, said = next(iter(s.params.items()))
        pvals = sorted({T.numeric_param(r, p) for r in self.rows if T.numeric_param(r, p) is not None})
        if len(pvals) >= 2:
            v = pvals[len(pvals) // 2]
            ids = [r.run_id for r in self.rows if (T.numeric_param(r, p) or 1e18) < v]
            self.add("list", "terse", f"runs with {said[0]} below {_fmt(v)}", {"kind": "ids", "ids": ids})
        epochs = sorted({T.numeric_param(r, s.epochs) for r in self.rows if T.numeric_param(r, s.epochs) is not None})
        if epochs:
            e = epochs[-1]
            d = next((d for d in self.datasets if any(r.dataset == d and T.numeric_param(r, s.epochs) == e
                                                      for r in self.rows)), self.ds(0))
            ids = [r.run_id for r in self.rows if r.dataset == d and T.numeric_param(r, s.epochs) == e]
            self.add("list", "plain", f"the {self.spec.datasets[d][0]} runs that trained for {_fmt(e)} epochs",
                     {"kind": "ids", "ids": ids})
            e2 = epochs[0]
            ids = [r.run_id for r in self.rows if (T.numeric_param(r, s.epochs) or 0) > e2]
            self.add("list", "casual", f"which runs went for more than {_fmt(e2)} epochs?", {"kind": "ids", "ids": ids})
        if self.name != "demo":
            week = [r.run_id for r in self.rows if r.time and r.time >= self.now - timedelta(days=7)]
            self.add("list", "casual", "what runs did I do last week?", {"kind": "ids", "ids": week})
            local = self.now.astimezone()
            month = local.month
            in_month = [r.run_id for r in self.rows if r.time and r.time.astimezone().month == month
                        and r.time.astimezone().year == local.year]
            self.add("list", "plain", f"Which runs were logged in {local.strftime('%B')}?", {"kind": "ids", "ids": in_month})
            cutoff = local.replace(day=10, hour=0, minute=0, second=0, microsecond=0)
            before = [r.run_id for r in self.rows if r.time and r.time < cutoff]
            self.add("list", "terse", f"runs before the 10th", {"kind": "ids", "ids": before})
        lr = next((p for p in s.params if "lr" in p or "learning" in p), None)
        if lr and self.models:
            lr_vals = sorted({T.numeric_param(r, lr) for r in self.rows if T.numeric_param(r, lr) is not None})
            v = lr_vals[len(lr_vals) // 2] if lr_vals else 0.01
            pool = T.where(self.rows, model=self.model(0), test=lambda r: (T.numeric_param(r, lr) or 1e9) < v)
            self.add("rank", "plain", f"best {self.model_said(0)} with {s.params[lr][0]} below {_fmt(v)}",
                     self.top(pool, m) if pool else {"kind": "none"})

    def count(self) -> None:
        s, m = self.spec, self.spec.metric
        self.add("count", "plain", f"How many runs are on {self.ds_said(0)}?",
                 {"kind": "count", "count": len(T.where(self.rows, self.ds(0)))})
        self.add("count", "casual", f"how many {self.model_said(1)} runs did I train?",
                 {"kind": "count", "count": len(T.where(self.rows, model=self.model(1)))})
        values = sorted(r.metrics[m] for r in self.rows if m in r.metrics)
        cut = round(values[len(values) // 2], 2) if not s.percent else round(values[len(values) // 2])
        n = len(T.where(self.rows, self.ds(1), test=lambda r: r.metrics.get(m, -1e9) > cut))
        self.add("count", "terse", f"how many runs have {s.metric_said[1]} above {_fmt(cut)} on {self.ds_said(1)}",
                 {"kind": "count", "count": n})
        self.add("count", "plain", "How many runs are there in total?", {"kind": "count", "count": len(self.rows)})

    def group(self) -> None:
        s, m = self.spec, self.spec.metric
        by_model = T.group_values(self.rows, lambda r: r.model, m, "mean")
        self.add("group", "plain", f"What is the average {s.metric_said[0]} by model type?",
                 {"kind": "groups", "agg": "mean", "groups": by_model})
        by_ds = T.group_values(self.rows, lambda r: r.dataset, m, "mean")
        self.add("group", "terse", f"mean {s.metric_said[1]} per dataset", {"kind": "groups", "agg": "mean", "groups": by_ds})
        hardest = min(by_ds, key=by_ds.get)
        self.add("group", "casual", "which dataset is the hardest on average?", {"kind": "group_top", "group": hardest})
        best_model = max(by_model, key=by_model.get)
        self.add("group", "plain", "Which model type does best on average?", {"kind": "group_top", "group": best_model})
        med = T.group_values(T.where(self.rows, model=self.model(0)), lambda r: "all", m, "median")
        self.add("group", "casual", f"what's the median {s.metric_said[0]} of the {self.model_said(0)} runs?",
                 {"kind": "groups", "agg": "median", "groups": med})
        std = T.group_values(self.rows, lambda r: "all", s.loss, "std")
        self.add("group", "terse", f"standard deviation of {s.loss_said[0]}", {"kind": "groups", "agg": "std", "groups": std})

    def param_of_best(self) -> None:
        s, m = self.spec, self.spec.metric
        items = list(s.params.items())
        for i, (p, said) in enumerate(items[:2]):
            pool = T.where(self.rows, model=self.model(i), test=lambda r, p=p: T.numeric_param(r, p) is not None)
            if not pool:
                continue
            best = T.ranked(pool, m)[0]
            q = (f"What {said[0]} did the best {self.model_said(i)} use?",
                 f"the top {self.model_said(i)} run's {said[0]}?")[i]
            self.add("param_of_best", ("plain", "terse")[i], q,
                     {"kind": "value", "field": f"param:{p}", "value": T.numeric_param(best, p)})
        pool = T.where(self.rows, self.ds(0), test=lambda r: T.numeric_param(r, s.epochs) is not None)
        if pool:
            best = T.ranked(pool, m)[0]
            self.add("param_of_best", "casual", f"How many epochs did the best {self.ds_said(0)} run train for?",
                     {"kind": "value", "field": f"param:{s.epochs}", "value": T.numeric_param(best, s.epochs)})

    def best_param_value(self) -> None:
        s, m = self.spec, self.spec.metric
        phrasing = (("plain", "Which {p} works best on average?"), ("casual", "what {p} should I use, on average?"),
                    ("terse", "best {p} on average"))
        for (style, template), (p, said) in zip(phrasing, list(s.params.items()) * 2):
            means = T.group_values(self.rows, lambda r, p=p: T.numeric_param(r, p), m, "mean")
            if len(means) < 2:
                continue
            self.add("best_param_value", style, template.format(p=said[0]),
                     {"kind": "best_value", "value": max(means, key=means.get)})

    def param_effect(self) -> None:
        s, m = self.spec, self.spec.metric
        phrasing = (("plain", "How does {p} affect {m}?"), ("casual", "does {p} even matter for {m}?"),
                    ("terse", "effect of {p} on {m}"))
        for (style, template), (p, said) in zip(phrasing, list(s.params.items())):
            pairs = [(T.numeric_param(r, p), r.metrics[m]) for r in self.rows
                     if T.numeric_param(r, p) is not None and m in r.metrics]
            rho = T.spearman([a for a, _ in pairs], [b for _, b in pairs]) if len(pairs) >= 3 else None
            self.add("param_effect", style, template.format(p=said[0], m=s.metric_said[0]),
                     {"kind": "effect", "rho": rho})

    def distribution(self) -> None:
        s, m = self.spec, self.spec.metric
        allq = T.quartiles([r.metrics[m] for r in self.rows if m in r.metrics])
        self.add("distribution", "plain", f"What is the distribution of {s.metric_said[0]}?", {"kind": "stats", **allq})
        dq = T.quartiles([r.metrics[m] for r in T.where(self.rows, self.ds(1)) if m in r.metrics])
        self.add("distribution", "casual", f"how spread out is {s.metric_said[1]} on {self.ds_said(1)}?",
                 {"kind": "stats", **dq})
        lq = T.quartiles([r.metrics[s.loss] for r in self.rows if s.loss in r.metrics])
        self.add("distribution", "terse", f"{s.loss_said[0]} quartiles", {"kind": "stats", **lq})

    def compare(self) -> None:
        s, m = self.spec, self.spec.metric
        a, b = self.model(0), self.model(1)
        ids = [T.ranked(T.where(self.rows, model=k), m)[0].run_id for k in (a, b)]
        self.add("compare", "plain", f"Compare the best {self.model_said(0)} with the best {self.model_said(1)}.",
                 {"kind": "ids", "ids": ids})
        pool = {k: T.ranked(T.where(self.rows, self.ds(0), k), m) for k in (a, b)}
        if all(pool.values()):
            self.add("compare", "terse", f"{self.model_said(0)} vs {self.model_said(1)} on {self.ds_said(0)}",
                     {"kind": "ids", "ids": [pool[a][0].run_id, pool[b][0].run_id]})
        c = self.model(2)
        two = T.ranked(T.where(self.rows, model=c), m)[:2]
        self.add("compare", "casual", f"compare the two best {self.model_said(2, 1)} runs",
                 {"kind": "ids", "ids": [r.run_id for r in two], "ordered": True})
        means = [T.group_values(T.where(self.rows, model=k), lambda r: "x", m, "mean")["x"] for k in (a, b)]
        self.add("compare", "plain", f"Compare {self.model_said(0)} and {self.model_said(1)} runs on average.",
                 {"kind": "means", "values": means})
        r1, r2 = self.rows[3], self.rows[5]
        self.add("compare", "terse", f"compare {r1.run_id} and {r2.run_id}", {"kind": "ids", "ids": [r1.run_id, r2.run_id]})

    def details(self) -> None:
        s = self.spec
        r = self.rows[2]
        self.add("details", "plain", f"Tell me about run {r.run_id}.", {"kind": "ids", "ids": [r.run_id]})
        r2 = self.rows[4]
        self.add("details", "terse", f"what about {r2.run_id[:5]}?", {"kind": "ids", "ids": [r2.run_id]})
        seventh = T.by_time(self.rows, latest=False)[6]
        p, said = next(iter(s.params.items()))
        self.add("details", "casual", f"What {said[0]} did run seven use?",
                 {"kind": "value", "field": f"param:{p}", "value": T.numeric_param(seventh, p)})
        r3 = self.rows[8]
        self.add("details", "plain", f"What was the {s.metric_said[0]} of run {r3.run_id}?",
                 {"kind": "value", "field": s.metric, "value": r3.metrics.get(s.metric)})

    def flagged_notes(self) -> None:
        flagged = [r.run_id for r in self.rows if "PUBLISH" in r.note.split(";")[0].split()]
        self.add("flagged", "plain", "Which runs are flagged for publishing?", {"kind": "ids", "ids": flagged})
        self.add("flagged", "casual", "which runs should go in the paper?", {"kind": "ids", "ids": flagged})
        self.add("flagged", "terse", "flagged runs", {"kind": "ids", "ids": flagged})
        bad = [r.run_id for r in self.rows if any(w in r.note.lower() for w in ("diverg", "nan", "explod", "unstable"))]
        self.add("notes", "casual", "Did anything blow up during training?", {"kind": "ids", "ids": bad})
        self.add("notes", "plain", "Which runs had problems like diverging?", {"kind": "ids", "ids": bad})
        self.add("notes", "terse", "unstable runs", {"kind": "ids", "ids": bad})

    def followups(self) -> None:
        s, m = self.spec, self.spec.metric
        first = f"Which run has the best {s.metric_said[0]} on {self.ds_said(0)}?"
        best = T.ranked(T.where(self.rows, self.ds(0)), m)[0]
        p, said = next(iter(s.params.items()))
        self.add("followup", "plain", f"What {said[0]} did it use?",
                 {"kind": "value", "field": f"param:{p}", "value": T.numeric_param(best, p)}, (first,))
        self.add("followup", "casual", "ok flag that one for publishing", {"kind": "flag", "run_id": best.run_id}, (first,))
        top3 = T.ranked(T.where(self.rows, self.ds(1)), m)[:3]
        self.add("followup", "terse", "tell me more about the second one", {"kind": "ids", "ids": [top3[1].run_id]},
                 (f"top 3 runs on {self.ds_said(1)}",))
        other = next(k for k in self.models if k != best.model)
        best_other = T.ranked(T.where(self.rows, self.ds(0), other), m)
        if best_other:
            self.add("followup", "plain", f"compare it with the best {self.spec.models[other][0]}",
                     {"kind": "ids", "ids": [best.run_id, best_other[0].run_id]}, (first,))

    def bad_input(self) -> None:
        s = self.spec
        self.add("bad_input", "plain", "What was the best accuracy on imagenet?", {"kind": "unsupported"})
        self.add("bad_input", "casual", "which run had the best BLEU score?", {"kind": "unsupported"})
        self.add("bad_input", "terse", "best run with momentum 0.9", {"kind": "unsupported"})
        missing_model = next(w for w in ("transformer", "xgboost", "lstm") if w not in self.models)
        self.add("bad_input", "plain", f"How did the {missing_model} runs do?", {"kind": "unsupported"})
        pairs = [(d, k) for d in self.datasets for k in self.models if not T.where(self.rows, d, k)]
        if pairs:
            d, k = pairs[0]
            self.add("bad_input", "plain", f"What is the average {s.metric_said[0]} of {s.models[k][0]} runs on "
                     f"{s.datasets[d][0]}?", {"kind": "none"})
        self.add("small_talk", "plain", "Tell me a joke.", {"kind": "small_talk"})
        self.add("small_talk", "casual", "hey there, how's it going?", {"kind": "small_talk"})
        self.add("small_talk", "terse", "what can you do?", {"kind": "small_talk"})


def generate(name: str, db: Path, now: datetime) -> list[SuiteQuestion]:
    rows = T.read_truth_rows(db)
    gen = _Gen(name, rows, SPECS[name], now)
    if len(gen.datasets) < 2 or len(gen.models) < 3:
        raise ValueError(f"{db} does not hold the {name} runs the suite asks about (datasets "
                         f"{', '.join(SPECS[name].datasets)}); for the demo DB run examples/train_demo.py")
    for step in (gen.rank, gen.rank_time, gen.rank_param, gen.list_, gen.count, gen.group, gen.param_of_best,
                 gen.best_param_value, gen.param_effect, gen.distribution, gen.compare, gen.details,
                 gen.flagged_notes, gen.followups, gen.bad_input):
        step()
    return gen.out
