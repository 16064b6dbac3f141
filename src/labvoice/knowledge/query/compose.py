"""The composer: assembles one `Parsed` from the extracted slots and the shape scores, resolves
follow-ups from the previous turn, and turns questions about names the DB does not have, or that no
shape can express, into an explicit `Unsupported`. `Composer.parse()` is the entry point; its
`ParseOutcome.confidence` (0..1) tells a caller when an LLM planner might do better.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from labvoice.knowledge.lexicon import lexicon
from labvoice.knowledge.query.badinput import UNSUPPORTED_CONCEPTS, missing_names
from labvoice.knowledge.query.catalog import Catalog, lower_is_better
from labvoice.knowledge.query.coverage import dropped, unbound
from labvoice.knowledge.query.execute import Executor
from labvoice.knowledge.query.extract import Slots, extract, plain_text
from labvoice.knowledge.query.mentions import Mention
from labvoice.knowledge.query.numbers import ORDINALS
from labvoice.knowledge.query.filters import FilterReader, dataset_filter
from labvoice.knowledge.query.followup import complete, corrected, correction
from labvoice.knowledge.query.model import (ALL_PARAMS, Clarify, DocumentQuestion, Field, Filter, FlagRequest, Order,
                                            RunQuery, SmallTalk, Unsupported, query_json)
from labvoice.knowledge.query.operators import duration_after, negated, ordinal_offset, per_group
from labvoice.knowledge.query.shapes import ShapeClassifier, ShapeScores

DEFAULT_TOP_K = 3
UNSURE_BELOW = 0.35        # confidence under which a configured LLM planner may take over

_SMALL_TALK = [
    ("joke", r"\b(joke|something funny|make me laugh|pun)\b"),
    ("capabilities", r"\bwhat can (you|i) (do|ask)|\bwhat do you know\b|\bhow can you help\b|^\s*help\b|"
                     r"\bwhat kinds? of questions\b|\bwho are you\b|\bwhat are you\b"),
    ("thanks", r"^\s*(thanks|thank you|cheers|great,? thanks)\b"),
    ("goodbye", r"^\s*(bye|goodbye|see you|good night)\b"),
    ("greeting", r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|how are you|how's it going|yo)\b"),
]
_RUN_WORDS = re.compile(r"\b(runs?|models?|experiments?|results?|metrics?|accuracy|loss|trained|training|train|"
                        r"dataset|best|worst|top|epochs?|learning rate|parameters?|hyper-?parameters?|diverg\w*|"
                        r"blew up|blow up|explod\w*|nan|unstable|crash\w*|flagged|publish\w*|paper|logged|ran|architectures?|oom|"
                        r"out of memory|"
                        r"algorithms?|model types?)\b")
_DOC_WORDS = re.compile(r"\b(how do i|how to|what is an?|what's an?|explain|according to|docs?|documentation|"
                        r"readme|guide|why does|why do|define|definition)\b")
_REFER = re.compile(r"\b(it|its|that run|this run|that one|this one|them|those|these|the same run|that model|"
                    r"those runs|these runs|the former|the latter)\b")
_ORDINAL_REF = re.compile(r"\bthe (first|second|third|fourth|fifth|last) (one|run)?\b")
_AVERAGE = re.compile(r"\b(average|averaged|mean|on average|typical(ly)?|overall|in general|generally)\b")
_AGGREGATES = [("median", r"\bmedian\b"), ("std", r"\b(std|standard deviation|variance|spread)\b"),
               ("mean", r"\b(average|mean|avg)\b(?! (of|over|across) (runs|experiments))"),
               ("count", r"\bhow many\b|\bnumber of (runs|experiments|trainings)\b|\bcount\b"),
               ("max", r"\b(maximum|max|highest|peak|largest)\b"), ("min", r"\b(minimum|min|lowest|smallest)\b"),
               ("mean", r"\b(typical|on average)\b")]
_WORST = re.compile(r"\b(worst|weakest|poorest|least accurate|bottom|lowest[- ]scoring)\b")
_ASC = re.compile(r"\b(lowest|smallest|minimum|min|least|fewest|fastest|quickest|shortest)\b")
_DESC = re.compile(r"\b(highest|largest|biggest|maximum|max|most|greatest|longest|slowest)\b")
_LATEST = re.compile(r"\b(most recent(ly)?|latest|newest|recently|last (run|one|thing|experiment|model|training|time)|"
                     r"last\W*$|last (?:\w+ )?(run|one)\b|just (trained|ran|finished)|freshest)")
_EARLIEST = re.compile(r"\b(earliest|oldest|first (run|one|thing|experiment|model|time|try|attempt)|"
                       r"first .{0,24}(logged|trained|ever|tried|ran|run)|(when|what) did i first|initially|"
                       r"very first|to begin with|(train|trained|ran|run|logged|did|tried) first)\b")
# A superlative about runs ("the best bert run", "top one", "fastest experiments"), not about a value.
_SUPERLATIVE = re.compile(r"\b(best|top|worst|highest|lowest|strongest|weakest|fastest|slowest|quickest|longest|"
                          r"shortest|leading|winning|poorest|greatest|largest|smallest)\b(?:\s+[\w-]+){0,4}?\s+"
                          r"(runs?|ones?|experiments?|trials?|checkpoints?|results?)\b|"
                          r"\b(which|what) (run|one|experiment|result)s?\b.{0,30}\b(best|top|strongest|weakest|worst|"
                          r"highest|lowest)\b")
# Words of a run's note about what went wrong (the notes shape; with a superlative, a filter on the ranking).
_TROUBLE = re.compile(r"\b(diverg\w*|crash\w*|oom|out of memory|blew up|blow up|explod\w*|nan|unstable|fail\w*)\b")
_PLURAL_RANK = re.compile(r"\b(runs|models|ones|experiments|results|leaderboard|ranking|rank)\b")
@dataclass(frozen=True)
class Context:
    """What the previous turn was about, so "compare it with the best SVM" can be resolved."""

    run_ids: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metric: str | None = None
    pending: Clarify | None = None     # the question asked back about, completed by the next utterance
    question: str = ""                 # the last question answered, which "no, I said ..." corrects


@dataclass(frozen=True)
class ParseOutcome:
    parsed: Any
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    missing: str = ""         # a sentence naming what the DB lacks (bad input), else ""
    unbound: tuple[str, ...] = ()   # content words bound to nothing (reported for every question)


class Composer:
    def __init__(self, catalog: Catalog, classifier: ShapeClassifier | None = None,
                 default_top_k: int = DEFAULT_TOP_K, executor: Executor | None = None) -> None:
        """`executor`: the one that answers over this catalog (its columns, built on first use, are
        shared rather than built again for each question)."""
        self.catalog = catalog
        self.filter_reader = FilterReader(catalog, executor or Executor(catalog))
        self.classifier = classifier or ShapeClassifier(None)
        self.default_top_k = default_top_k

    # --- entry ---------------------------------------------------------------------------------
    def parse(self, question: str, context: Context | None = None, now: datetime | None = None) -> ParseOutcome:
        t0 = time.perf_counter()
        context = context or Context()
        now = now or self.catalog.now or datetime.now(timezone.utc)
        if context.pending is not None:
            completed = complete(context.pending, question)
            if completed is not None:
                return self.parse(completed, replace(context, pending=None), now)
        said = correction(question) if context.question else None
        if said is not None:
            fixed = corrected(extract(context.question, self.catalog, now), extract(said, self.catalog, now))
            if fixed is not None:
                return self.parse(fixed, replace(context, question=""), now)
        slots = extract(question, self.catalog, now)
        t_slots = time.perf_counter()
        text = slots.text
        names = bool(slots.metrics or slots.params or slots.datasets or slots.models or slots.run_ids)
        if not text.strip():
            return ParseOutcome(SmallTalk(kind="other"), 1.0)
        for kind, pattern in _SMALL_TALK:
            if re.search(pattern, text) and not (names and kind in ("greeting", "thanks")) and \
                    not (kind == "capabilities" and names):
                rest = re.sub(pattern, "", text)
                if kind in ("joke", "capabilities", "goodbye") or not _RUN_WORDS.search(rest):
                    return ParseOutcome(SmallTalk(kind=kind), 0.9)
        flag = self._flag_request(slots, context, now)
        if flag is not None:
            return ParseOutcome(flag, 0.9)
        scores = self.classifier.score(slots)
        t_scores = time.perf_counter()
        outcome = self._compose(slots, scores, context, now)
        parsed = outcome.parsed
        if isinstance(parsed, RunQuery):
            parsed = self._accounted(slots, parsed, question)
        timings = {"extract": (t_slots - t0) * 1000, "shape": (t_scores - t_slots) * 1000,
                   "compose": (time.perf_counter() - t_scores) * 1000}
        return ParseOutcome(parsed, outcome.confidence, scores.scores, timings, outcome.missing, unbound(slots))

    def _accounted(self, slots: Slots, query: RunQuery, question: str) -> Any:
        """The query, or what stops it from being answered: two names that fit one word (ask back),
        or a constraint said but not in the query (say so). Never the query without the constraint."""
        as_data = query_json(query)
        used = json.dumps(as_data)
        for m in slots.datasets + slots.models + slots.params + slots.metrics:
            if m.alternatives and m.name in used and \
                    not (m.kind in ("dataset", "model") and negated(slots.text, slots.tokens, m.start, m.end)):
                said = " ".join(t.text for t in slots.tokens[m.start:m.end + 1])
                return Clarify(question=question, said=said, options=(m.name,) + m.alternatives, kind=m.kind)
        lost = dropped(slots, as_data, any(f.field.kind == "note" for f in query.filters), question)
        if lost is not None:
            return Unsupported(reason=f"I don't know which runs you mean by '{lost.words}'." if lost.kind == "unbound"
                               else f"I couldn't use '{lost.words}' in that question.", about="unbound")
        return query

    # --- flag requests ------------------------------------------------------------------------
    def _flag_request(self, slots: Slots, context: Context, now: datetime | None = None) -> FlagRequest | None:
        """Only an imperative request writes; the grammar lives in writes.py."""
        from labvoice.knowledge.query.writes import write_request

        return write_request(slots.text, tuple(slots.run_ids), context.run_ids,
                             lambda words: self._referred(words, context),
                             lambda words: self.parse(words, context, now).parsed)

    def _referred(self, text: str, context: Context) -> tuple[str, ...]:
        m = _ORDINAL_REF.search(text)
        if m and context.run_ids:
            word = m.group(1)
            index = len(context.run_ids) - 1 if word == "last" else ORDINALS[word] - 1
            if 0 <= index < len(context.run_ids):
                return (context.run_ids[index],)
        return context.run_ids

    # --- run queries ----------------------------------------------------------------------------
    def _compose(self, slots: Slots, scores: ShapeScores, context: Context, now: datetime) -> ParseOutcome:
        cat = self.catalog
        text = plain_text(slots)   # names' own words ("mean test score") are not operators
        if re.search(r"\b(best|top|worst|highest|lowest|strongest|weakest)\b", text):
            text = re.sub(r"\b(overall|of all( time)?|in general)\b", " ", text)   # "the best loss overall" ranks
        missing = missing_names(cat, slots)
        if missing:
            return ParseOutcome(Unsupported(reason=missing, about="names"), 0.9, missing=missing)
        for pattern, what in UNSUPPORTED_CONCEPTS:
            if re.search(pattern, text):
                return ParseOutcome(Unsupported(reason=f"I can't work out {what}"), 0.6)
        offset = ordinal_offset(slots)
        refers = bool(_REFER.search(text) or (_ORDINAL_REF.search(text) and context.run_ids and not offset and
                                                not re.search(r"\bthe first (run|one) (ever|logged)", text)))
        if context.run_ids and re.match(r"\s*(and|also|what about|how about|and what about)\b", text) and not (
                slots.datasets or slots.models or slots.run_ids or re.search(r"\b(best|top|worst|all|runs)\b", text)):
            refers = True    # "and how many epochs?" continues the previous answer
        run_ids = list(slots.run_ids)
        referred: tuple[str, ...] = ()
        if refers and not run_ids and context.run_ids:
            referred = self._referred(text, context)
        filters, used = self.filter_reader.filters(slots, now)
        free_metrics = [m for m in slots.metrics if (m.start, m.end) not in used]
        free_params = [p for p in slots.params if (p.start, p.end) not in used]
        metric = free_metrics[0].name if free_metrics else None
        if metric is None and referred and context.metric:
            metric = context.metric
        metric_named = metric is not None
        metric = metric or self._metric_from_filters(filters) or self.filter_reader.headline_for(filters)
        if (refers and referred) and not slots.datasets and context.datasets and not any(
                f.field.kind == "dataset" for f in filters):
            inherit = re.search(r"\b(compare|versus|vs|against|best|top)\b", text)
            if inherit:
                filters.append(dataset_filter(context.datasets))

        if not free_params and not run_ids and not referred and re.search(
                r"\b(hyper-?parameters?|settings?|config(uration)?s?|parameters?|params|setup)\b", text) and \
                re.search(r"\b(best|top|winning|strongest|worst|weakest)\b", text) and metric:
            worst = bool(_WORST.search(text))
            return ParseOutcome(RunQuery(
                shape="param_of_best", filters=tuple(filters), metric=metric, select=Field(kind="param", name=ALL_PARAMS),
                order=Order(field=Field(kind="metric", name=metric),
                            descending=lower_is_better(metric) if worst else not lower_is_better(metric))), 0.8)
        of_best = self._metric_of_best(slots, free_metrics, text)
        if of_best is not None:
            rank_by = next((m.name for m in free_metrics if m is not of_best), None) or \
                self.filter_reader.headline_for(filters)
            if _LATEST.search(text) or _EARLIEST.search(text):
                return ParseOutcome(RunQuery(shape="rank", filters=tuple(filters), metric=of_best.name, limit=1,
                                             order=Order(field=Field(kind="time"), descending=not _EARLIEST.search(text))), 0.8)
            worst = bool(_WORST.search(text))
            return ParseOutcome(RunQuery(
                shape="param_of_best", filters=tuple(filters), metric=rank_by, select=Field(kind="metric", name=of_best.name),
                offset=offset, order=Order(field=Field(kind="metric", name=rank_by),
                            descending=lower_is_better(rank_by) if worst else not lower_is_better(rank_by))), 0.8)
        trouble = _TROUBLE.search(text)
        if trouble and metric and not free_params and not run_ids and \
                re.search(r"\b(best|top|worst|highest|lowest|strongest|weakest)\b", text):
            # "the best run that didn't OOM on imdb": ranked among the runs whose notes do (not) say so
            note = self._note_filter(text)
            excluded = re.search(r"\b(not|didn t|did not|never|without|no|weren t|wasn t|n t)\b[^.?]{0,25}$",
                                 text[:trouble.start()].replace("'", " "))
            if excluded:
                note = Filter(field=note.field, op="not_in" if isinstance(note.value, tuple) else "!=", value=note.value)
            order, limit = self._order(slots, text, metric, free_params)
            return ParseOutcome(RunQuery(shape="rank", filters=tuple(filters) + (note,), order=order, limit=limit,
                                         metric=metric), 0.8)
        grouping = per_group(text)
        if grouping is not None and not free_params and not run_ids and not referred and metric and \
                (_SUPERLATIVE.search(text) or re.search(r"\b(best|top|worst|strongest|weakest)\b", text)) and \
                not _AVERAGE.search(text):
            order, limit = self._order(slots, text, metric, free_params)
            return ParseOutcome(RunQuery(shape="rank", filters=tuple(filters), order=order, limit=min(limit, 5),
                                         metric=metric, group_by=grouping), 0.8)
        if offset and len(free_params) == 1 and not run_ids and metric and not _AVERAGE.search(text):
            order, _ = self._order(slots, text, metric, [])     # "what lr did the runner-up use"
            return ParseOutcome(RunQuery(shape="param_of_best", filters=tuple(filters), metric=metric, offset=offset,
                                         select=Field(kind="param", name=free_params[0].name), order=order), 0.8)
        if offset and not free_params and not run_ids and metric:
            order, _ = self._order(slots, text, metric, free_params)
            return ParseOutcome(RunQuery(shape="rank", filters=tuple(filters), order=order, limit=1, offset=offset,
                                         metric=metric), 0.8)
        s = dict(scores.scores)
        inventory = re.search(r"\b(which|what|how many|list( the| all)?|name the)\s+(different\s+)?(datasets|data sets|"
                              r"benchmarks|models|model kinds|model types|kinds of models?|types of models?|architectures|"
                              r"algorithms)\b", text)
        if inventory and not slots.datasets and not slots.models and not re.search(r"\b(best|worst|top|average|mean)\b", text):
            by = "dataset" if re.search(r"data|benchmark", inventory.group(4)) else "model"
            return ParseOutcome(RunQuery(shape="group", filters=tuple(filters), group_by=Field(kind=by),
                                         aggregate="count"), 0.8)
        feasible = self._feasible(slots, s, free_params, run_ids or list(referred), metric_named, filters, text)
        ranked = sorted(((v, k) for k, v in s.items() if k in feasible), reverse=True)
        about_runs = bool(_RUN_WORDS.search(text)) or bool(slots.metrics or slots.params or slots.datasets or
                                                           slots.models or slots.run_ids or slots.time or referred) \
            or any(duration_after(slots, c.num_pos) for c in slots.conditions)     # "what finished in under an hour"
        if not ranked or not about_runs:
            if not about_runs:
                if _DOC_WORDS.search(text):
                    return ParseOutcome(DocumentQuestion(topic=text.strip(" ?.!")), 0.6)
                return ParseOutcome(SmallTalk(kind="other"), 0.5)
            return ParseOutcome(Unsupported(reason="no query over the runs fits this question"), 0.3)
        best_score, shape = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        confidence = max(0.05, min(1.0, 0.3 + (best_score - second) * 2.0 + (0.2 if best_score > 0.8 else 0.0)))
        floor = 0.45 if scores.similarity else 0.05
        if best_score < floor and not slots.run_ids:
            return ParseOutcome(Unsupported(reason="no query over the runs fits this question"), confidence)
        try:
            query = self._build(shape, slots, filters, metric, metric_named, free_metrics, free_params,
                                run_ids, referred, refers, text)
        except ValueError as err:
            for _, alt in ranked[1:3]:
                try:
                    query = self._build(alt, slots, filters, metric, metric_named, free_metrics, free_params,
                                        run_ids, referred, refers, text)
                    return ParseOutcome(query, confidence * 0.7)
                except ValueError:
                    continue
            return ParseOutcome(Unsupported(reason=f"cannot build a {shape} query: {err}"), 0.2)
        return ParseOutcome(query, confidence)

    def _feasible(self, slots: Slots, s: dict[str, float], free_params: list[Mention], run_ids: list[str],
                  metric_named: bool, filters: list[Filter], text: str) -> set[str]:
        feasible = set(s)
        sides = len({m.start for m in slots.models}) + len(run_ids) + (len(slots.datasets) if not slots.models else 0)
        if not free_params:
            feasible -= {"param_of_best", "best_param_value", "param_effect"}
        else:
            # "how many epochs did ..." asks for a parameter, not a count
            many = re.search(r"\bhow many\b", text)
            if many and any(slots.tokens[p.start].start - many.end() <= 8 for p in free_params):
                s["count"] = s.get("count", 0) - 0.6
                s["param_of_best"] = s.get("param_of_best", 0) + 0.3
        if not run_ids:
            feasible.discard("details")
        else:
            s["details"] = s.get("details", 0) + 0.25
            if free_params and not re.search(r"\b(best|top|winning|strongest)\b", text):
                s["param_of_best"] = s.get("param_of_best", 0) - 0.5
        if sides < 2 and not ((slots.k or 0) >= 2 or (run_ids and (slots.models or slots.datasets))):
            feasible.discard("compare")
        elif sides >= 2 and re.search(r"\b(compare|versus|vs|against|difference|better)\b", text):
            s["compare"] = s.get("compare", 0) + 0.2
        if not (_AVERAGE.search(text) or re.search(r"\b(per|by|each|across|hardest|easiest|toughest|median|"
                                                   r"std|standard deviation|variance|grouped)\b", text)):
            feasible.discard("group")
        untimed = text.replace(slots.time.said, " ") if slots.time else text
        if re.search(r"\b(how many|number of)\b", text) and re.search(
                r"\b(each|per|by|for every|for each)\b (\w+ )?(model|type|kind|dataset|family|architecture|algorithm)", text):
            s["group"] = s.get("group", 0) + 0.6     # "how many runs of each model type": counts per group
        superlative = re.search(r"\b(best|worst|top|strongest|weakest|highest|lowest|largest|smallest|biggest|"
                                r"most|least|latest|earliest|newest|oldest|first|last|fastest|slowest|longest)\b", untimed)
        thresholds = [f for f in filters if f.field.kind in ("metric", "param", "time") and f.op != "="]
        if not filters and not slots.time:
            s["list"] = s.get("list", 0) - 0.2
        elif (thresholds or any(f.field.kind == "param" for f in filters)) and not superlative and not slots.k \
                and not re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", text):
            s["list"] = s.get("list", 0) + 0.3
            s["rank"] = s.get("rank", 0) - 0.2
        if free_params and _AVERAGE.search(text) and re.search(r"\b(best|optimal|ideal|works?|worked|should|highest|"
                                                              r"top|good|better|recommend\w*)\b", text) and \
                not re.search(r"\b(by|per|for each|across)\b", text):
            s["best_param_value"] = s.get("best_param_value", 0) + 0.4
            s["group"] = s.get("group", 0) - 0.2
        if free_params and re.search(r"\b(highest|largest|biggest|smallest|lowest|most|fewest|maximum|minimum)\b",
                                     text) and not re.search(r"\b(best|top|winning|strongest)\b", text):
            s["rank"] = s.get("rank", 0) + 0.2
        elif free_params and re.search(r"\bwhich (\w+ ){1,3}(is|was|works|worked|gives|gave|performs|performed) "
                                       r"(the )?best\b", text) and not run_ids and \
                not re.search(r"\bbest (run|model|experiment|one|\w+ run)\b", text):
            s["best_param_value"] = s.get("best_param_value", 0) + 0.35   # "which learning rate is best"
        elif free_params and re.search(r"\b(best|top|winning|strongest|leading|greatest)\b", text) and not run_ids \
                and not _AVERAGE.search(text):
            s["param_of_best"] = s.get("param_of_best", 0) + 0.3
        return feasible

    def _metric_of_best(self, slots: Slots, free_metrics: list[Mention], text: str) -> Mention | None:
        """"the validation loss of the best wine run": the metric asked about the best (or latest) run."""
        words = [t.text for t in slots.tokens]
        for m in free_metrics:
            after = " ".join(words[m.end + 1:m.end + 8])
            if re.match(r"(of|for|did|does|was|on|in) (the |my |our )?(\w+ ){0,3}?(best|top|winning|strongest|worst|"
                        r"weakest|latest|most recent|newest|earliest|first|last|runner[\s-]*up|second|third|fourth|"
                        r"next best)\b", after):
                return m
        return None

    def _metric_from_filters(self, filters: list[Filter]) -> str | None:
        for f in filters:
            if f.field.kind == "metric":
                return f.field.name
        return None

    # --- shapes ---------------------------------------------------------------------------------
    def _build(self, shape: str, slots: Slots, filters: list[Filter], metric: str | None, metric_named: bool,
               free_metrics: list[Mention], free_params: list[Mention], run_ids: list[str],
               referred: tuple[str, ...], refers: bool, text: str) -> RunQuery:
        base = tuple(filters)
        if shape == "details":
            ids = tuple(run_ids) or referred
            select = None
            if free_params:
                select = Field(kind="param", name=free_params[0].name)
            elif metric_named and free_metrics:
                select = Field(kind="metric", name=metric)
            return RunQuery(shape="details", run_ids=ids, select=select, refers_back=bool(referred) and not run_ids,
                            metric=metric)
        if shape == "rank":
            order, limit = self._order(slots, text, metric, free_params)
            return RunQuery(shape="rank", filters=base, order=order, limit=limit, metric=metric)
        if shape == "list":
            return RunQuery(shape="list", filters=base, metric=metric,
                            order=Order(field=Field(kind="metric", name=metric),
                                        descending=not lower_is_better(metric)) if metric else None)
        if shape == "count":
            return RunQuery(shape="count", filters=base, metric=metric)
        if shape == "notes" and re.search(r"\b(not|didn't|did not|never|without|no|weren't|were not|wasn't)\b.{0,20}"
                                          r"(diverg|blow|blew|explod|crash|fail|unstable|problem|issue|nan)", text):
            # "which runs did not diverge": every run whose note does not say so
            note = self._note_filter(text)
            counting = re.search(r"\b(how many|number of|count)\b", text)
            return RunQuery(shape="count" if counting else "list", filters=base + (Filter(field=note.field, op="not_in" if isinstance(
                note.value, tuple) else "!=", value=note.value),),
                            metric=metric, order=Order(field=Field(kind="metric", name=metric),
                                                       descending=not lower_is_better(metric)) if metric else None)
        if shape in ("flagged", "notes"):
            extra = () if shape == "flagged" else (self._note_filter(text),)
            return RunQuery(shape=shape, filters=base + extra, metric=metric)
        if shape == "distribution":
            return RunQuery(shape="distribution", filters=base, metric=metric)
        if shape in ("param_of_best", "best_param_value", "param_effect"):
            select = Field(kind="param", name=free_params[0].name)
            worst = bool(_WORST.search(text))
            order = Order(field=Field(kind="metric", name=metric),
                          descending=lower_is_better(metric) if worst else not lower_is_better(metric))
            return RunQuery(shape=shape, filters=base, metric=metric, select=select,
                            order=order if shape == "param_of_best" else None)
        if shape == "group":
            if not metric_named and free_params and re.search(r"\b(average|mean|median|typical|std|standard deviation)\b",
                                                              text) and not re.search(r"\b(by|per|for each|across)\b", text):
                return self._group(slots, base, free_params[0].name, [], text)   # the average of a parameter
            return self._group(slots, base, metric, free_params, text)
        if shape == "compare":
            return self._compare(slots, base, metric, run_ids, referred, text)
        raise ValueError(f"unknown shape {shape}")

    def _order(self, slots: Slots, text: str, metric: str | None, free_params: list[Mention]) -> tuple[Order, int]:
        limit = slots.k
        superlative_param = None
        for p in free_params:
            before = " ".join(t.text for t in slots.tokens[max(0, p.start - 3):p.start])
            if re.search(r"\b(highest|largest|biggest|smallest|lowest|most|fewest|maximum|minimum|max|min|longest|"
                         r"shortest)\b", before):
                superlative_param = p
                break
        metric_superlative = re.search(r"\b(best|worst|top|strongest|weakest|accurate|winner|winning|leaderboard)\b", text)
        if superlative_param is not None:
            before = " ".join(t.text for t in slots.tokens[max(0, superlative_param.start - 3):superlative_param.start])
            desc = not bool(_ASC.search(before))
            order = Order(field=Field(kind="param", name=superlative_param.name), descending=desc)
        elif (_LATEST.search(text) or _EARLIEST.search(text)) and not (metric_superlative and not
                                                                     re.search(r"\b(most recent|latest|newest|recently)\b", text)) \
                and not slots.metrics:
            order = Order(field=Field(kind="time"), descending=not bool(_EARLIEST.search(text)))
        else:
            if metric is None:
                raise ValueError("no metric to rank by")
            lower = lower_is_better(metric)
            metric_said_at = slots.metrics[0].start if slots.metrics else 10**6
            window = " ".join(t.text for t in slots.tokens[max(0, metric_said_at - 3):metric_said_at]) \
                if slots.metrics else text
            if _WORST.search(text):
                desc = lower
            elif _ASC.search(window) or (not slots.metrics and _ASC.search(text) and not metric_superlative):
                desc = False
            elif _DESC.search(window) or (not slots.metrics and _DESC.search(text) and not metric_superlative):
                desc = True
            else:
                desc = not lower
            order = Order(field=Field(kind="metric", name=metric), descending=desc)
        if limit is None and re.search(r"\b(sort|sorted|order|ordered|rank|ranked)\b.{0,12}\bby\b", text):
            limit = 10 if re.search(r"\b(all|every|each)\b", text) else self.default_top_k
        if limit is None:
            plural = _PLURAL_RANK.search(text) and re.search(r"\b(top|best|leaderboard|rank|ranking|strongest|"
                                                             r"weakest|worst|highest|lowest)\b", text)
            singular = re.search(r"\b(which|what) (run|model|one|experiment)\b|\bthe (best|top|worst|latest|most recent|"
                                 r"strongest|weakest|highest|lowest) (run|model|one|\w+ run)\b|\b(was|is|'s) the (best|"
                                 r"worst|weakest|strongest|top|highest|lowest|poorest)\b", text)
            limit = self.default_top_k if plural and not singular and re.search(r"\b(runs|models|ones|leaderboard|"
                                                                                r"ranking|rank)\b", text) else 1
        return order, limit

    def _note_filter(self, text: str) -> Filter:
        if re.search(r"\boom\b", text) or any(p.search(text) for p, word in lexicon().phrases if word == "oom"):
            return Filter(field=Field(kind="note"), op="in", value=("oom", "out of memory"))
        m = re.search(r"\bnotes?\b\s+(?:that\s+)?(?:says?|mentions?|mentioning|contains?|containing|with|about|"
                      r"saying|include|includes|including)?\s*['\"]?([a-z0-9_\- ]{2,40}?)['\"]?\s*(?:\?|$|\bin\b|\bon\b)",
                      text)
        if m and m.group(1).strip() not in ("", "any", "a", "the"):
            return Filter(field=Field(kind="note"), op="contains", value=m.group(1).strip())
        return Filter(field=Field(kind="note"), op="in",
                      value=("diverg", "explod", "nan", "unstable", "crash", "blew up", "blow up", "fail"))

    def _group(self, slots: Slots, base: tuple[Filter, ...], metric: str | None, free_params: list[Mention],
               text: str) -> RunQuery:
        group_by = None
        if re.search(r"\b(by|per|for each|across|each|which|grouped by|broken down by|what)\b\s*(?:\w+\s+)?"
                     r"(model|type|kind|family|architecture|algorithm|classifier|backbone|network|checkpoint|"
                     r"arch|encoder)s?\b", text):
            group_by = Field(kind="model")
        elif re.search(r"\b(model|architecture|algorithm)? ?(families|family|kinds|types|models|architectures?|"
                       r"algorithms?|backbones?|networks?|checkpoints?)\b", text) and _AVERAGE.search(text) and \
                not slots.models:
            group_by = Field(kind="model")
        elif re.search(r"\b(by|per|for each|across|each|which|grouped by|broken down by|what)\b\s*(?:\w+\s+)?"
                       r"(dataset|data set|data|benchmark|task)s?\b", text) or \
                re.search(r"\b(hardest|easiest|toughest|most difficult|struggle\w*|hard|difficult)\b", text):
            group_by = Field(kind="dataset")
        elif free_params and re.search(r"\b(by|per|for each|across|each|which)\b", text):
            group_by = Field(kind="param", name=free_params[0].name)
        aggregate = "mean"
        for name, pattern in _AGGREGATES:
            if re.search(pattern, text):
                aggregate = name
                break
        if aggregate in ("max", "min") and group_by is None and not re.search(r"\b(maximum|minimum|max|min)\b", text):
            aggregate = "mean"
        order, limit = None, None
        if group_by is not None and metric and re.search(r"\b(which|what)\b", text):
            lower = lower_is_better(metric)
            if re.search(r"\b(hardest|toughest|most difficult|worst|weakest|struggle\w*|lowest|poorest)\b", text):
                order, limit = Order(field=Field(kind="metric", name=metric), descending=lower), 1
            elif re.search(r"\b(easiest|best|strongest|highest|top)\b", text):
                order, limit = Order(field=Field(kind="metric", name=metric), descending=not lower), 1
        if aggregate == "count":
            return RunQuery(shape="group", filters=base, group_by=group_by, aggregate="count", metric=metric)
        return RunQuery(shape="group", filters=base, group_by=group_by, aggregate=aggregate, metric=metric,
                        order=order, limit=limit)

    def _compare(self, slots: Slots, base: tuple[Filter, ...], metric: str | None, run_ids: list[str],
                 referred: tuple[str, ...], text: str) -> RunQuery:
        if metric is None:
            raise ValueError("no metric to compare by")
        average = bool(_AVERAGE.search(text))
        lower = lower_is_better(metric)
        best = Order(field=Field(kind="metric", name=metric), descending=not lower)
        others = tuple(f for f in base if f.field.kind != "model" or f.op in ("!=", "not_in"))
        sides: list[RunQuery] = [RunQuery(shape="details", run_ids=(rid,), metric=metric)
                                 for rid in (run_ids or list(referred[:1]))]
        by_place: dict[int, list[str]] = {}     # one side per place a model was named (a family is one side)
        for m in slots.models:
            if not negated(slots.text, slots.tokens, m.start):
                by_place.setdefault(m.start, []).append(m.name)
        kinds = list(by_place.values())
        if len(kinds) >= 1 and (len(kinds) >= 2 or sides):
            for kind in kinds:
                scope = others + (Filter(field=Field(kind="model"), op="=" if len(kind) == 1 else "in",
                                         value=kind[0] if len(kind) == 1 else tuple(kind)),)
                sides.append(RunQuery(shape="group", filters=scope, aggregate="mean", metric=metric) if average
                             else RunQuery(shape="rank", filters=scope, order=best, limit=1, metric=metric))
        elif len(slots.datasets) >= 2 and not sides:
            rest = tuple(f for f in base if f.field.kind != "dataset")
            for m in slots.datasets:
                scope = rest + (Filter(field=Field(kind="dataset"), op="=", value=m.name),)
                sides.append(RunQuery(shape="group", filters=scope, aggregate="mean", metric=metric) if average
                             else RunQuery(shape="rank", filters=scope, order=best, limit=1, metric=metric))
        elif slots.k and slots.k >= 2 and not sides:
            sides.append(RunQuery(shape="rank", filters=base, order=best, limit=slots.k, metric=metric))
        return RunQuery(shape="compare", filters=base, compare=tuple(sides), metric=metric,
                        refers_back=bool(referred) and not run_ids)
