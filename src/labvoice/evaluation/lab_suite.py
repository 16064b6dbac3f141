"""The lab suite (issue 17): generated questions over the six producer-made DBs of lab_dbs, every operator in
several phrasings (plain, casual, terse), ground truth from plain Python over each DB (lab_dbs' helpers over
query_truth.read_truth_rows), names said the way lab_said says people say them.

Operators (each question's `operator` tag): names (a name said as people say it), ordinal, negation,
per_group (the best run per group), mean_per_group (averages per group, the best value on average),
compare, number (numbers in any notation), duration and speed (time metrics), subset_metric (a
subset's own metric), direction (a minimised metric called "best"), unbound (words that bind to nothing:
a refusal or a question back, never an answer) and ask_back (a family said without its size).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labvoice.evaluation import lab_dbs as L
from labvoice.evaluation.lab_said import SAID, Said, notations
from labvoice.evaluation.lab_suite_more import more_questions


class LabGen:
    """Writes one DB's questions into `out`; lab_suite_more adds the operators of time, subsets and direction."""

    def __init__(self, name: str, db: Path) -> None:
        self.name, self.rows = name, L.read_truth_rows(db)
        self.conv: L.Convention = L.CONVENTIONS[name]
        self.said: Said = SAID[name]
        self.m = self.conv.metric
        self.datasets = [d for d in self.said.datasets if L.pick(self.rows, self.conv, d)]
        self.models = [k for k in self.said.models if L.pick(self.rows, self.conv, model=k)]
        self.out: list[L.LabQuestion] = []

    # --- helpers ------------------------------------------------------------------------------------
    def add(self, operator: str, style: str, question: str, expect: dict[str, Any], uses: tuple[str, ...] = ()) -> None:
        if expect.get("kind") in ("top", "per_group") and not (expect.get("values") or expect.get("groups")):
            return                      # nothing to rank in that pool: no question
        question = self.bare_names(question)
        for phrase, options in self.said.ambiguous.items():
            if phrase in question.lower():  # two names fit what was said: asking back is right too
                expect = {"kind": "any_of", "options": [expect, {"kind": "ask_back", "options": list(options)}]}
        self.out.append(L.LabQuestion(f"{self.name}-{operator}-{len(self.out) + 1}", self.name, operator, style,
                                      question, expect, tuple(dict.fromkeys(uses))))

    def bare_names(self, question: str) -> str:
        """"the flowers data" where it is a modifier ("best the flowers data run") said as "flowers"."""
        for said in self.said.datasets.values():
            for phrase in said:
                if phrase.startswith("the ") and phrase.endswith(" data"):
                    bare = phrase[len("the "):-len(" data")]
                    question = re.sub(rf"(?<!\bon )(?<!\bOn ){re.escape(phrase)}", bare, question)
        return question

    def metric_of(self, dataset: str | None) -> str:
        """The metric a dataset's runs record (the headline unless the subset records another)."""
        return self.said.subsets.get(dataset or "", self.m)

    def pool(self, dataset=None, model=None, test=None) -> list:
        return L.pick(self.rows, self.conv, dataset, model, test)

    def ds(self, i: int) -> str:
        return self.datasets[i % len(self.datasets)]

    def ds_said(self, d: str, v: int = 0) -> str:
        said = self.said.datasets[d]
        return said[v % len(said)]

    def mo(self, i: int) -> str:
        return self.models[i % len(self.models)]

    def mo_said(self, k: str, v: int = 0) -> str:
        said = self.said.models[k]
        return said[v % len(said)]

    def ms(self, v: int = 0) -> str:
        return self.said.metric_said[v % len(self.said.metric_said)]

    def model(self, row) -> str:
        return L.model_of(row, self.conv)

    def numeric_params(self) -> list[str]:
        return [p for p in self.said.params if any(L.number(r, p) is not None for r in self.rows)]

    # --- operators ----------------------------------------------------------------------------------
    def names(self) -> None:
        m = self.m
        for i, d in enumerate(self.datasets):
            metric = self.metric_of(d)
            said_m = self.ms(i) if metric == m else None
            q = (f"Which {self.ds_said(d, i)} run has the best {said_m}?" if said_m
                 else f"Which run did best on {self.ds_said(d, i)}?")
            self.add("names", "plain", q, L.top(self.pool(d), metric, self.conv), (d,) + ((m,) if said_m else ()))
        for i, k in enumerate(self.models):
            self.add("names", "casual", f"what's my best {self.mo_said(k, i + 1)} run on {self.ds_said(self.ds(i), 1)}?",
                     L.top(self.pool(self.ds(i), k), self.metric_of(self.ds(i)), self.conv), (k, self.ds(i)))
            d = self.ds(i + 1)
            self.add("names", "terse", f"best {self.mo_said(k, i)} {self.ds_said(d, 1)}",
                     L.top(self.pool(d, k), self.metric_of(d), self.conv), (k, d))
        for j, (metric, said) in enumerate(self.said.metrics.items()):
            for v, phrase in enumerate(said[:2]):
                d = self.ds(j + v)
                best = "lowest" if metric in self.conv.lower else "highest"
                q = (f"Which run has the {best} {phrase} on {self.ds_said(d, v)}?" if v == 0
                     else f"{best} {phrase} {self.ds_said(d, v)}")
                self.add("names", ("plain", "terse")[v], q, L.top(self.pool(d), metric, self.conv), (metric, d))
        main = [d for d in self.datasets if self.metric_of(d) == self.m]     # subsets: lab_suite_more
        for j, p in enumerate(self.numeric_params()):
            for v, phrase in enumerate(self.said.params[p][:2]):
                d = main[(j + v) % len(main)]
                metric = self.metric_of(d)
                tied = L.best_rows(self.pool(d, test=lambda r, p=p: L.number(r, p) is not None), metric, self.conv)
                if not tied:
                    continue
                expect = {"kind": "value_in", "field": f"param:{p}", "values": sorted({L.number(r, p) for r in tied})}
                q = (f"The top run on {self.ds_said(d, v)}: what was its {phrase}?",
                     f"{phrase} of the top {self.ds_said(d, v)} run?")[v]
                self.add("names", ("plain", "casual")[v], q, expect, (p, d))
        for v, phrase in enumerate(self.said.params[self.numeric_params()[0]][:2]):
            p = self.numeric_params()[0]
            k = self.mo(v)
            tied = L.best_rows(self.pool(model=k), self.m, self.conv)
            self.add("names", "casual", f"what {phrase} did my best {self.mo_said(k, v)} use?",
                     {"kind": "value_in", "field": f"param:{p}", "values": sorted({L.number(r, p) for r in tied})}, (p, k))

    def ordinal(self) -> None:
        forms = (("Which run is the second best on {d}?", 1, "plain"), ("who's the runner-up on {d}?", 1, "casual"),
                 ("third best run on {d}", 2, "terse"), ("What's the 2nd best {ms} on {d}?", 1, "plain"),
                 ("runner up {d}", 1, "terse"), ("show me the third-highest {ms} on {d}", 2, "casual"))
        for i, d in enumerate(self.datasets):
            metric = self.metric_of(d)
            for j in (i, i + 3):
                text, skip, style = forms[j % len(forms)]
                if "{ms}" in text and metric != self.m:
                    continue
                q = text.format(d=self.ds_said(d, j), ms=self.ms(j))
                self.add("ordinal", style, q, L.top(self.pool(d), metric, self.conv, skip=skip),
                         (d,) + ((self.m,) if "{ms}" in text else ()))
        for i, k in enumerate(self.models[:3]):
            text, skip, style = (("Which {k} run came second?", 1, "plain"), ("2nd best {k}", 1, "terse"),
                                 ("what's the runner-up among the {k} runs?", 1, "casual"))[i]
            self.add("ordinal", style, text.format(k=self.mo_said(k, i)), L.top(self.pool(model=k), self.m, self.conv, skip=skip), (k,))
        self.add("ordinal", "plain", f"Which run has the second lowest {self.said.loss_said[0]}?",
                 L.top(self.rows, self.said.loss, self.conv, skip=1), (self.said.loss,))
        self.add("ordinal", "terse", f"third best {self.ms(1)} overall", L.top(self.rows, self.m, self.conv, skip=2), (self.m,))

    def negation(self) -> None:
        forms = (("What's the best run on {d} that isn't {k}?", "plain"), ("best {d} run other than {k}", "terse"),
                 ("on {d}, which run did best except the {k} ones?", "casual"),
                 ("Best {d} result excluding {k}?", "plain"), ("top run on {d} but not {k}", "casual"),
                 ("best non-{k} run on {d}", "terse"))
        for i, d in enumerate(self.datasets):
            for j in range(2):
                k = self.mo(i + j)
                text, style = forms[(2 * i + j) % len(forms)]
                pool = self.pool(d, test=lambda r, k=k: self.model(r) != k)
                self.add("negation", style, text.format(d=self.ds_said(d, j), k=self.mo_said(k, j)),
                         L.top(pool, self.metric_of(d), self.conv), (d, k))
        main = [d for d in self.datasets if self.metric_of(d) == self.m]
        for i, k in enumerate(self.models[:3]):
            d = main[i % len(main)]
            text, style = (("Which {k} run is best when you leave out {d}?", "plain"),
                           ("best {k} not on {d}", "terse"), ("best {k} run on any dataset except {d}", "casual"))[i]
            self.add("negation", style, text.format(k=self.mo_said(k, i), d=self.ds_said(d, i)),
                     L.top(self.pool(model=k, test=lambda r, d=d: r.dataset != d), self.m, self.conv), (k, d))
        for i, d in enumerate(main[:2]):
            text = (f"Which run is best if I ignore {self.ds_said(d, i)}?", f"best {self.ms(i)}, not on dataset {self.ds_said(d, i)}")[i]
            self.add("negation", ("casual", "terse")[i], text,
                     L.top(self.pool(test=lambda r, d=d: r.dataset != d), self.m, self.conv), (d,))
        p = self.numeric_params()[0]
        values = sorted({L.number(r, p) for r in self.rows if L.number(r, p) is not None})
        for i, value in enumerate(values[:2]):
            said = self.said.params[p][i % len(self.said.params[p])]
            shown = notations(value)[0] if 0 < value < 0.01 else f"{value:g}"
            text = (f"Which run has the best {self.ms()} excluding runs with {said} {shown}?",
                    f"best {self.ms(1)} where {said} is not {shown}")[i]
            self.add("negation", ("plain", "terse")[i], text,
                     L.top(self.pool(test=lambda r, v=value: L.number(r, p) != v), self.m, self.conv), (p, self.m))

    def per_group(self) -> None:
        main = [d for d in self.datasets if self.metric_of(d) == self.m]
        by_ds = lambda r: r.dataset if r.dataset in main else ""  # noqa: E731
        named = f" by {self.ms()}" if self.said.subsets else ""      # a subset records another metric
        self.add("per_group", "plain", f"What's the best run on each dataset{named}?",
                 L.per_group(self.pool(main), self.m, self.conv, by_ds), (self.m,) if named else ())
        self.add("per_group", "terse", f"best {self.ms(1)} per dataset",
                 L.per_group(self.pool(main), self.m, self.conv, by_ds), (self.m,))
        self.add("per_group", "casual", f"for every model, which run is the strongest{named}?",
                 L.per_group(self.pool(main), self.m, self.conv, self.model), (self.m,) if named else ())
        for i, k in enumerate(self.models[:2]):
            text = (f"the best {self.mo_said(k, i)} run on each dataset", f"top {self.mo_said(k, i)} run per dataset")[i]
            self.add("per_group", ("plain", "terse")[i], text,
                     L.per_group(self.pool(main, k), self.m, self.conv, by_ds), (k,))
        for i, d in enumerate(main[:2]):
            text = (f"Best run of each model on {self.ds_said(d, i)}?", f"{self.ds_said(d, i)}: best run per model")[i]
            self.add("per_group", ("plain", "terse")[i], text, L.per_group(self.pool(d), self.m, self.conv, self.model), (d,))

    def mean_per_group(self) -> None:
        main = [d for d in self.datasets if self.metric_of(d) == self.m]
        pool = self.pool(main)
        self.add("mean_per_group", "plain", f"What's the average {self.ms()} per model?",
                 {"kind": "groups", "agg": "mean", "groups": L.means(pool, self.m, self.model)}, (self.m,))
        self.add("mean_per_group", "terse", f"mean {self.ms(1)} by dataset",
                 {"kind": "groups", "agg": "mean", "groups": L.means(pool, self.m, lambda r: r.dataset)}, (self.m,))
        d = main[0]
        self.add("mean_per_group", "casual", f"on {self.ds_said(d, 1)}, how do the models compare on average?",
                 {"kind": "groups", "agg": "mean", "groups": L.means(self.pool(d), self.m, self.model)}, (d,))
        self.add("mean_per_group", "plain", f"Average {self.said.loss_said[0]} for each model",
                 {"kind": "groups", "agg": "mean", "groups": L.means(self.rows, self.said.loss, self.model)}, (self.said.loss,))
        for i, p in enumerate(self.numeric_params()[:2]):
            k = self.mo(i)
            rows = self.pool(main, k)
            avg = L.means(rows, self.m, lambda r, p=p: L.number(r, p))
            if len(avg) < 2:
                continue
            best = max(avg.values())
            said = self.said.params[p][i % len(self.said.params[p])]
            text = (f"Which {said} works best for {self.mo_said(k, i)} on average?",
                    f"best {said} for {self.mo_said(k, i)}, averaged over runs")[i]
            self.add("mean_per_group", ("plain", "terse")[i], text,
                     {"kind": "best_value_in", "values": sorted(v for v, x in avg.items() if x == best)}, (p, k))

    def compare(self) -> None:
        def best(pool, metric=None) -> float | None:
            order = L.ranked(pool, metric or self.m, self.conv)
            return order[0].metrics[metric or self.m] if order else None

        forms = (("Compare the best {a} with the best {b}.", "plain"), ("{a} vs {b}: best run of each", "terse"),
                 ("how does my best {a} stack up against my best {b}?", "casual"))
        main = [d for d in self.datasets if self.metric_of(d) == self.m]
        for i in range(min(3, len(self.models) - 1) if len(self.models) > 1 else 0):
            a, b = self.mo(i), self.mo(i + 1)
            text, style = forms[i % 3]
            values = [best(self.pool(main, a)), best(self.pool(main, b))]
            if None not in values:
                self.add("compare", style, text.format(a=self.mo_said(a, i), b=self.mo_said(b, i + 1)),
                         {"kind": "top", "field": self.m, "values": values}, (a, b))
        for i in range(min(2, len(main) - 1)):
            a, b = main[i], main[i + 1]
            text = (f"Compare the best run on {self.ds_said(a, i)} with the best on {self.ds_said(b, i)}",
                    f"best {self.ds_said(a, i)} run vs best {self.ds_said(b, i)} run")[i]
            self.add("compare", ("plain", "terse")[i], text,
                     {"kind": "top", "field": self.m, "values": [best(self.pool(a)), best(self.pool(b))]}, (a, b))
        for i in range(min(2, len(self.models) - 1)):     # groups: the means of two kinds side by side
            a, b = self.mo(i + 1), self.mo(i + 2)
            avg = L.means(self.pool(main), self.m, self.model)
            text = (f"Compare the average {self.ms()} of {self.mo_said(a)} and {self.mo_said(b)}.",
                    f"mean {self.ms(1)}: {self.mo_said(a, 1)} vs {self.mo_said(b, 1)}")[i]
            if a != b and a in avg and b in avg:
                side_by_side = {"kind": "means", "values": [avg[a], avg[b]]}
                as_groups = {"kind": "groups", "agg": "mean", "groups": {a: avg[a], b: avg[b]}}
                self.add("compare", ("plain", "terse")[i], text, {"kind": "any_of", "options": [side_by_side, as_groups]},
                         (a, b, self.m))
        d = main[0]
        a, b = self.mo(0), self.mo(1)
        values = [best(self.pool(d, a)), best(self.pool(d, b))]
        if None not in values and a != b:
            self.add("compare", "casual", f"on {self.ds_said(d, 1)}, best {self.mo_said(a)} vs best {self.mo_said(b)}?",
                     {"kind": "top", "field": self.m, "values": values}, (a, b, d))

    def number(self) -> None:
        for j, p in enumerate(self.numeric_params()):
            values = sorted({L.number(r, p) for r in self.rows if L.number(r, p) is not None})
            for i, value in enumerate(values[:3]):
                said = self.said.params[p][(i + j) % len(self.said.params[p])]
                forms = notations(value) if 0 < value < 0.01 else (f"{value:g}",)
                shown = forms[(i + j) % len(forms)]
                text = (f"Which runs used a {said} of {shown}?", f"runs with {said} = {shown}",
                        f"show me everything trained with {said} {shown}")[(i + j) % 3]
                self.add("number", ("plain", "terse", "casual")[(i + j) % 3], text,
                         L.ids(r for r in self.rows if L.number(r, p) == value), (p,))
            if len(values) >= 3:
                cut = values[len(values) // 2]
                self.add("number", "plain", f"Which runs had a {self.said.params[p][0]} above {cut:g}?",
                         L.ids(r for r in self.rows if (L.number(r, p) or -1e18) > cut), (p,))
        main = [d for d in self.datasets if self.metric_of(d) == self.m]
        values = sorted(r.metrics[self.m] for r in self.pool(main) if self.m in r.metrics)
        cut = values[int(len(values) * 0.7)]
        percent = round(cut) if self.said.percent else round(cut * 100)
        shown = (f"{percent} percent", f"{percent}%", f"{percent / 100:g}" if not self.said.percent else f"{percent}")
        for i, s in enumerate(shown):
            limit = percent if self.said.percent else percent / 100
            text = (f"Which runs got over {s} {self.ms()}?", f"runs above {s} {self.ms(1)}",
                    f"anything with {self.ms(2)} better than {s}?")[i]
            self.add("number", ("plain", "terse", "casual")[i], text,
                     L.ids(r for r in self.rows if r.metrics.get(self.m, -1e18) > limit), (self.m,))

    def unbound(self) -> None:
        ms = self.ms()
        forms = ("What's the best run on {x}?", "best {x} run", "how did I do on {x}?")
        for i, x in enumerate(self.said.unknown_datasets):
            self.add("unbound", ("plain", "terse", "casual")[i], forms[i].format(x=x), {"kind": "refuse"})
        for i, x in enumerate(self.said.unknown_models):
            text = (f"Which {x} run has the best {ms}?", f"best {x}")[i % 2]
            self.add("unbound", ("plain", "terse")[i % 2], text, {"kind": "refuse"})
        for i, text in enumerate(("Which is the best run on the cluster ones?",
                                  f"best {ms} among the runs on the A100 nodes",
                                  "what's the strongest of the ablation runs from the offsite?",
                                  "Which of the overnight spot-instance runs did best?")):
            self.add("unbound", ("plain", "terse", "casual", "plain")[i], text, {"kind": "refuse"})

    def ask_back(self) -> None:
        for i, (family, members) in enumerate(self.said.families.items()):
            main = [d for d in self.datasets if self.metric_of(d) == self.m]
            asks = {"kind": "ask_back", "options": list(members)}
            forms = ((f"What's the best {family} run?", None, "plain"), (f"best {family} on {{d}}", 0, "terse"),
                     (f"how good is my {family} on {{d}}?", 1, "casual"), (f"Which {family} run has the best {self.ms()}?", None, "plain"))
            for j, (text, di, style) in enumerate(forms):
                d = main[di % len(main)] if di is not None else None
                q = text.format(d=self.ds_said(d, j)) if d else text
                family_best = L.top(self.pool(d, members), self.m, self.conv)
                self.add("ask_back", style, q, {"kind": "any_of", "options": [asks, family_best]}, (d,) if d else ())
            d = main[0]
            exclude = L.top(self.pool(d, test=lambda r, m=members: self.model(r) not in m), self.m, self.conv)
            self.add("ask_back", "plain", f"Best run on {self.ds_said(d, 1)} that isn't a {family}?",
                     {"kind": "any_of", "options": [asks, exclude]}, (d, *members))


def suite_for(name: str, db: Path) -> list[L.LabQuestion]:
    gen = LabGen(name, db)
    for step in (gen.names, gen.ordinal, gen.negation, gen.per_group, gen.mean_per_group, gen.compare, gen.number,
                 gen.unbound, gen.ask_back):
        step()
    more_questions(gen)
    return gen.out


def lab_suite(dbs: dict[str, Path]) -> list[L.LabQuestion]:
    """The suite's questions over the DBs built by lab_dbs (name -> path)."""
    return [q for name, path in dbs.items() for q in suite_for(name, path)]
