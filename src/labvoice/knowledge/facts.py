"""Deterministic facts from the run manifests: leaderboards, comparisons, filters, counts, notes.

Each `Fact` carries the run ids it used, a compact line for the LLM prompt and a plain spoken
sentence, which is the templated answer when the LLM's wording cannot be trusted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from labvoice.knowledge.question import Intent, Query
from labvoice.knowledge.store import Run
from labvoice.knowledge.vocab import Vocabulary, is_lower_better, name_tokens

PUBLISH_NOTE = "PUBLISH"
MAX_LISTED = 5  # runs named one by one in a spoken sentence; the rest are counted


@dataclass(frozen=True)
class Fact:
    kind: str
    text: str                    # compact line for the prompt
    sentence: str                # spoken, templated
    run_ids: tuple[str, ...]     # best first
    action: tuple[str, str, str] | None = None   # ("set_note", run_id, note): a confirmed write

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class Context:
    """What the previous turn was about, so "compare it with the best SVM" can be resolved."""

    run_ids: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metric: str | None = None


@dataclass(frozen=True)
class FactSet:
    query: Query
    facts: tuple[Fact, ...]
    used_run_ids: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def templated_answer(self) -> str:
        return " ".join(f.sentence for f in self.facts)


def fmt(value: float) -> str:
    """Numbers as they are spoken and checked: 0.9806 -> '0.981', 250.0 -> '250', 3e-05 -> '3e-05'."""
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    if 0.001 <= abs(value) < 1000:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def metric_label(metric: str) -> str:
    words = {"val": "validation", "acc": "accuracy", "train": "training", "f1": "F1", "ppl": "perplexity"}
    return " ".join(words.get(t, t) for t in name_tokens(metric))


def _kind_label(run: Run) -> str:
    return (run.model_kind or "model").replace("_", " ")


def _on(datasets: tuple[str, ...]) -> str:
    return f" on {', '.join(datasets)}" if datasets else ""


def _ordering(query: Query, metric: str) -> bool:
    """True when smaller values come first."""
    words = query.words
    lower_better = is_lower_better(metric)
    if words & {"lowest", "smallest", "minimum", "min", "least"}:
        return True
    if words & {"highest", "largest", "maximum", "max", "biggest"}:
        return False
    return not lower_better if query.worst else lower_better


class FactFinder:
    """Computes the facts for one question over a list of runs (loaded once per DB change)."""

    def __init__(self, runs: list[Run], default_top_k: int = 3) -> None:
        self.runs = runs
        self.by_id = {r.run_id: r for r in runs}
        self.vocab = Vocabulary.from_runs(runs)
        self.default_top_k = default_top_k

    # --- helpers ------------------------------------------------------------------------------
    def _filtered(self, query: Query, kinds: tuple[str, ...] | None = None) -> list[Run]:
        kinds = query.model_kinds if kinds is None else kinds
        return [r for r in self.runs
                if (not query.datasets or r.dataset_id in query.datasets)
                and (not kinds or r.model_kind in kinds)]

    def _ranked(self, runs: list[Run], metric: str, ascending: bool) -> list[Run]:
        with_metric = [r for r in runs if metric in r.metrics]
        return sorted(with_metric, key=lambda r: (r.metrics[metric] if ascending else -r.metrics[metric],
                                                  r.timestamp, r.run_id))

    def _describe(self, run: Run, metric: str | None) -> str:
        value = f", {metric} {fmt(run.metrics[metric])}" if metric and metric in run.metrics else ""
        return f"{run.run_id} ({_kind_label(run)} on {run.dataset_id}{value})"

    def _listed(self, runs: list[Run], metric: str | None) -> str:
        named = "; ".join(self._describe(r, metric) for r in runs[:MAX_LISTED])
        more = f"; and {len(runs) - MAX_LISTED} more" if len(runs) > MAX_LISTED else ""
        return named + more

    # --- intents ------------------------------------------------------------------------------
    def find(self, query: Query) -> FactSet:
        handler = getattr(self, f"_{query.intent.value}", None)
        facts = handler(query) if handler else []
        used: list[str] = []
        for fact in facts:
            for rid in fact.run_ids:
                if rid not in used:
                    used.append(rid)
        return FactSet(query, tuple(facts), tuple(used))

    def _leaderboard(self, query: Query) -> list[Fact]:
        metric = query.metric
        if not metric:
            return []
        ascending = _ordering(query, metric)
        ranked = self._ranked(self._filtered(query), metric, ascending)
        if not ranked:
            return [self._nothing(query)]
        k = query.k or self.default_top_k
        top = ranked[:k]
        direction = "lower is better" if is_lower_better(metric) else "higher is better"
        scope = f"{_on(query.datasets)}{' for ' + ', '.join(k.replace('_', ' ') for k in query.model_kinds) if query.model_kinds else ''}"
        text = (f"Leaderboard by {metric} ({direction}){scope}, {len(ranked)} runs: "
                + "; ".join(f"{i + 1}. {self._describe(r, metric)}" for i, r in enumerate(top)))
        adjective = ("lowest" if ascending else "highest") if (query.worst or query.words & {
            "lowest", "highest", "smallest", "largest", "minimum", "maximum"}) else "best"
        if len(top) == 1:
            r = top[0]
            sentence = (f"The run with the {adjective} {metric_label(metric)}{scope} is {r.run_id}, "
                        f"a {_kind_label(r)} on {r.dataset_id}, with {metric} {fmt(r.metrics[metric])}.")
        else:
            sentence = (f"The top {len(top)} runs by {metric_label(metric)}{scope} are "
                        + ", then ".join(f"{r.run_id} with {fmt(r.metrics[metric])}" for r in top) + ".")
        return [Fact("leaderboard", text, sentence, tuple(r.run_id for r in top))]

    def _best_of(self, query: Query, kind: str, metric: str) -> Run | None:
        ranked = self._ranked(self._filtered(query, (kind,)), metric, is_lower_better(metric))
        return ranked[0] if ranked else None

    def _compare(self, query: Query) -> list[Fact]:
        metric = query.metric
        if not metric:
            return []
        picked: list[tuple[str, Run]] = []
        for rid in query.run_ids:
            if rid in self.by_id:
                picked.append((f"run {rid}", self.by_id[rid]))
        for kind in query.model_kinds:
            best = self._best_of(query, kind, metric)
            if best and best.run_id not in {r.run_id for _, r in picked}:
                picked.append((f"the best {kind.replace('_', ' ')}", best))
        if len(picked) < 2:
            return self._leaderboard(query) if picked or not query.model_kinds else [self._nothing(query)]
        picked = picked[:4]
        ascending = is_lower_better(metric)
        parts = [f"{label} is {r.run_id} ({_kind_label(r)} on {r.dataset_id}) with {metric} "
                 f"{fmt(r.metrics[metric]) if metric in r.metrics else 'not recorded'}" for label, r in picked]
        scored = [(label, r) for label, r in picked if metric in r.metrics]
        verdict = ""
        if len(scored) >= 2:
            winner = sorted(scored, key=lambda p: p[1].metrics[metric] if ascending else -p[1].metrics[metric])[0]
            loser = [p for p in scored if p is not winner][0]
            diff = abs(winner[1].metrics[metric] - loser[1].metrics[metric])
            verdict = f" {winner[1].run_id} is ahead by {fmt(diff)}."
        text = f"Comparison by {metric}: " + "; ".join(parts) + "." + verdict
        sentence = ("; ".join(p[0].upper() + p[1:] for p in parts) + "." + verdict)
        return [Fact("compare", text, sentence, tuple(r.run_id for _, r in picked))]

    def _threshold(self, query: Query) -> list[Fact]:
        metric, value, cmp = query.metric, query.threshold, query.comparator
        if not metric or value is None:
            return []
        ops = {">": lambda a: a > value, ">=": lambda a: a >= value, "<": lambda a: a < value, "<=": lambda a: a <= value}
        ranked = self._ranked(self._filtered(query), metric, is_lower_better(metric))
        hits = [r for r in ranked if ops[cmp or ">"](r.metrics[metric])]
        word = {">": "above", ">=": "at least", "<": "below", "<=": "at most"}[cmp or ">"]
        if not hits:
            sentence = f"No runs have {metric_label(metric)} {word} {fmt(value)}{_on(query.datasets)}."
            return [Fact("threshold", f"No runs with {metric} {word} {fmt(value)}{_on(query.datasets)}.", sentence, ())]
        text = f"{len(hits)} runs with {metric} {word} {fmt(value)}{_on(query.datasets)}: {self._listed(hits, metric)}"
        sentence = (f"{len(hits)} run{'s' if len(hits) > 1 else ''} ha{'ve' if len(hits) > 1 else 's'} "
                    f"{metric_label(metric)} {word} {fmt(value)}{_on(query.datasets)}: "
                    + ", ".join(f"{r.run_id} with {fmt(r.metrics[metric])}" for r in hits[:MAX_LISTED])
                    + (f", and {len(hits) - MAX_LISTED} more" if len(hits) > MAX_LISTED else "") + ".")
        return [Fact("threshold", text, sentence, tuple(r.run_id for r in hits))]

    def _most_recent(self, query: Query) -> list[Fact]:
        runs = sorted(self._filtered(query), key=lambda r: (r.timestamp, r.run_id), reverse=True)
        if not runs:
            return [self._nothing(query)]
        r = runs[0]
        metric = query.metric if query.metric in r.metrics else next(iter(r.metrics), None)
        text = f"Most recent run{_on(query.datasets)}: {self._describe(r, metric)}, logged {r.timestamp}"
        sentence = (f"The most recent run is {r.run_id}, a {_kind_label(r)} on {r.dataset_id}, logged at "
                    f"{r.timestamp.replace('T', ' ')[:16]}"
                    + (f", with {metric} {fmt(r.metrics[metric])}." if metric else "."))
        return [Fact("most_recent", text, sentence, (r.run_id,))]

    def _param_values(self, query: Query) -> list[tuple[float, Run]]:
        return [(float(r.params[query.param]), r) for r in self._filtered(query)
                if isinstance(r.params.get(query.param), (int, float)) and not isinstance(r.params.get(query.param), bool)]

    def _param_extreme(self, query: Query) -> list[Fact]:
        values = self._param_values(query)
        if not values:
            return [self._nothing(query)]
        target = max(v for v, _ in values) if query.largest else min(v for v, _ in values)
        metric = query.metric
        ties = self._ranked([r for v, r in values if v == target], metric, is_lower_better(metric)) if metric else \
            [r for v, r in values if v == target]
        word = "largest" if query.largest else "smallest"
        text = (f"{word.capitalize()} {query.param}{_on(query.datasets)} is {fmt(target)}, used by "
                f"{len(ties)} run(s): {self._listed(ties, metric)}")
        if len(ties) == 1:
            sentence = (f"Run {ties[0].run_id}, a {_kind_label(ties[0])} on {ties[0].dataset_id}, has the {word} "
                        f"{query.param.replace('_', ' ')}: {fmt(target)}.")
        else:
            sentence = (f"The {word} {query.param.replace('_', ' ')} is {fmt(target)}, used by {len(ties)} runs; "
                        f"the best of them is {ties[0].run_id}.")
        return [Fact("param_extreme", text, sentence, tuple(r.run_id for r in ties))]

    def _param_of_best(self, query: Query) -> list[Fact]:
        metric = query.metric
        ranked = self._ranked([r for _, r in self._param_values(query)], metric, is_lower_better(metric)) if metric else []
        if not ranked:
            return [self._nothing(query)]
        r = ranked[0]
        value = r.params[query.param]
        kinds = " ".join(k.replace("_", " ") for k in query.model_kinds) or "run"
        text = f"Best {kinds}{_on(query.datasets)} by {metric}: {self._describe(r, metric)}; its {query.param} = {fmt(float(value))}"
        sentence = (f"The best {kinds}{_on(query.datasets)} by {metric_label(metric)} is {r.run_id}, with {metric} "
                    f"{fmt(r.metrics[metric])}; its {query.param.replace('_', ' ')} is {fmt(float(value))}.")
        return [Fact("param_of_best", text, sentence, (r.run_id,))]

    def _note_matches(self, query: Query) -> list[Run]:
        terms = [t.lower() for t in query.note_terms]
        runs = [r for r in self._filtered(query) if r.note and any(t in r.note.lower() for t in terms)]
        metric = query.metric
        return self._ranked(runs, metric, is_lower_better(metric)) if metric else runs

    def _flagged(self, query: Query) -> list[Fact]:
        runs = self._note_matches(query)
        if not runs:
            sentence = f"No runs{_on(query.datasets)} are flagged for publishing yet."
            return [Fact("flagged", sentence, sentence, ())]
        text = f"{len(runs)} runs flagged for publishing{_on(query.datasets)}: {self._listed(runs, query.metric)}"
        sentence = (f"{len(runs)} run{'s are' if len(runs) > 1 else ' is'} flagged for publishing: "
                    + ", ".join(f"{r.run_id}, a {_kind_label(r)} on {r.dataset_id}" for r in runs[:MAX_LISTED])
                    + (f", and {len(runs) - MAX_LISTED} more" if len(runs) > MAX_LISTED else "") + ".")
        return [Fact("flagged", text, sentence, tuple(r.run_id for r in runs))]

    def _note_search(self, query: Query) -> list[Fact]:
        runs = self._note_matches(query)
        about = query.note_terms[0] if len(query.note_terms) == 1 else "they diverged"
        if not runs:
            sentence = f"No run notes{_on(query.datasets)} say {about}."
            return [Fact("note_search", sentence, sentence, ())]
        text = f"{len(runs)} runs whose note matches '{about}': " + "; ".join(
            f"{r.run_id} ({_kind_label(r)} on {r.dataset_id}, note: {r.note})" for r in runs[:MAX_LISTED])
        sentence = (f"{len(runs)} run{'s have notes' if len(runs) > 1 else ' has a note'} saying {about}: "
                    + ", ".join(f"{r.run_id}, a {_kind_label(r)} on {r.dataset_id}" for r in runs[:MAX_LISTED])
                    + (f", and {len(runs) - MAX_LISTED} more" if len(runs) > MAX_LISTED else "") + ".")
        return [Fact("note_search", text, sentence, tuple(r.run_id for r in runs))]

    def _count(self, query: Query) -> list[Fact]:
        runs = self._filtered(query)
        what = " or ".join(k.replace("_", " ") for k in query.model_kinds)
        subject = f"used {what}" if what else "are logged"
        text = f"{len(runs)} runs {subject}{_on(query.datasets)}."
        sentence = f"{len(runs)} run{'s' if len(runs) != 1 else ''} {subject if len(runs) != 1 else subject.replace('are', 'is')}{_on(query.datasets)}."
        metric = query.metric
        ordered = self._ranked(runs, metric, is_lower_better(metric)) if metric else runs
        return [Fact("count", text, sentence, tuple(r.run_id for r in ordered))]

    def _run_details(self, query: Query) -> list[Fact]:
        facts = []
        for rid in query.run_ids:
            r = self.by_id[rid]
            metrics = ", ".join(f"{k} {fmt(v)}" for k, v in r.metrics.items())
            params = ", ".join(f"{k}={v}" for k, v in r.params.items() if not isinstance(v, (dict, list)))
            note = f"; note: {r.note}" if r.note else ""
            text = f"Run {rid}: {_kind_label(r)} on {r.dataset_id}, logged {r.timestamp}; {metrics}; params {params}{note}"
            sentence = f"Run {rid} trained a {_kind_label(r)} on {r.dataset_id}; its metrics are {metrics}{note}."
            facts.append(Fact("run_details", text, sentence, (rid,)))
        return facts

    def _flag_request(self, query: Query) -> list[Fact]:
        if len(query.run_ids) != 1:
            sentence = ("Tell me which run to flag: name its id, or ask about a run first and then say "
                        "'flag it for publishing'.")
            return [Fact("flag_request", sentence, sentence, ())]
        rid = query.run_ids[0]
        r = self.by_id[rid]
        sentence = f"Flagged run {rid}, the {_kind_label(r)} on {r.dataset_id}, for publishing."
        return [Fact("flag_request", f"Flag run {rid} for publishing.", sentence, (rid,),
                     action=("set_note", rid, PUBLISH_NOTE))]

    def _unknown_topic(self, query: Query) -> list[Fact]:
        return [self._nothing(query, query.note_terms[0] if query.note_terms else "")]

    def _nothing(self, query: Query, what: str = "") -> Fact:
        datasets = ", ".join(self.vocab.datasets[:6]) or "none yet"
        kinds = ", ".join(k.replace("_", " ") for k in self.vocab.model_kinds[:6]) or "none yet"
        missing = f"on {what}" if what else "matching that"
        sentence = (f"I found no runs {missing}. The runs I know are on {datasets}, with {kinds} models.")
        return Fact("no_match", sentence, sentence, ())


def resolve_followup(query: Query, question: str, context: Context) -> Query:
    """Fill "it"/"that run" from the previous turn, and its dataset/metric when none is named."""
    from dataclasses import replace

    if not context.run_ids:
        return query
    refers = re.search(r"\b(it|that run|this run|that one|this one|them|those)\b", question.lower())
    changes: dict = {}
    if refers and not query.run_ids:
        first_only = query.intent.value in ("flag_request", "compare", "param_of_best")
        changes["run_ids"] = context.run_ids[:1] if first_only else context.run_ids
        if query.intent.value in ("leaderboard", "param_of_best", "unknown_topic", "small_talk") and not query.model_kinds:
            changes["intent"] = Intent.RUN_DETAILS
    if (refers or query.intent.value == "compare") and not query.datasets and context.datasets:
        changes["datasets"] = context.datasets
    if refers and not query.metric_named and context.metric:
        changes["metric"] = context.metric
    return replace(query, **changes) if changes else query
