"""The Retriever: deterministic SQL facts plus passages from the FAISS index, for one question.

Runs are re-read only when the DB file changes, and then only the new or changed rows (live_runs.py).
A missing or broken index is not fatal: answers fall back to the SQL facts and a warning says how to
rebuild the index.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from labvoice.knowledge.facts import Context, FactFinder, QueryResult, classifier_for
from labvoice.knowledge.query.model import DocumentQuestion, FlagRequest, RunQuery, SmallTalk, Unsupported
from labvoice.knowledge.live_runs import RunSnapshot, shared_runs
from labvoice.knowledge.route import (RouteDecision, decide, document_part, meaning_margin, run_part, unknown_words,
                                      warm)
from labvoice.knowledge.store import ManifestStore

if TYPE_CHECKING:   # faiss and the embedder load only where an index is used
    from labvoice.knowledge.embedder import Embedder
    from labvoice.knowledge.index import KnowledgeIndex
    from labvoice.knowledge.index import Passage as IndexPassage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Passage:
    text: str
    source: str                       # "run" | "doc"
    run_ids: tuple[str, ...] = ()
    score: float = 0.0
    path: str = ""
    heading: str = ""


class PassageSource(Protocol):
    """Where passages come from: a `LiveIndex` (the index version live now) or one loaded
    `KnowledgeIndex`. `embedder` embeds questions (None: text search only); `current()` is the
    loaded index version behind it."""

    embedder: Embedder | None

    def search_text(self, text: str, k: int) -> list[IndexPassage]: ...

    def current(self) -> KnowledgeIndex: ...


@dataclass(frozen=True)
class Retrieval:
    """`factset` is the executed query's result: `.query` (the Parsed), `.rows`, `.facts`, `.claims`,
    `.used_run_ids`, `.confidence`. `timings_ms` has "parse" (question -> query), "query" (executing
    it), "facts" (both) and "passages"."""

    question: str
    factset: QueryResult
    passages: tuple[Passage, ...]
    warnings: tuple[str, ...] = ()
    timings_ms: dict = field(default_factory=dict)
    route: RouteDecision | None = None       # runs | documents | both | small_talk, and why (route.py)

    @property
    def shape(self) -> str:
        """The query's shape ("rank", "count", ...) or kind ("small_talk", "documents", "unsupported", "flag")."""
        return self.factset.shape

    @property
    def used_run_ids(self) -> tuple[str, ...]:
        return self.factset.used_run_ids

    @property
    def is_factual(self) -> bool:
        return isinstance(self.factset.query, (RunQuery, FlagRequest)) or bool(self.factset.facts)

    def grounding_text(self) -> str:
        lines = [f.display for f in self.factset.facts] + [f.spoken for f in self.factset.facts]
        lines += [p.text for p in self.passages]
        return "\n".join([self.question] + lines)


class Retriever:
    def __init__(self, store: ManifestStore, passages: PassageSource | None, top_k_runs: int,
                 top_k_passages: int, min_passage_score: float) -> None:
        self.store = store
        self.passages = passages
        self.top_k_runs = top_k_runs
        self.top_k_passages = top_k_passages
        self.min_passage_score = min_passage_score
        self.warnings: list[str] = []
        self.skipped_rows = 0
        self.live_runs = shared_runs(store.path)
        # The listener's STT worker parses words at pauses (acts_on) while the thinker answers: one
        # parse at a time, as before acts_on, rather than the shape embedder from two threads at once.
        self._parse_lock = threading.Lock()

    @classmethod
    def from_config(cls, config, passages: PassageSource | None) -> "Retriever":
        k = config.knowledge
        retriever = cls(ManifestStore(config.paths.db), passages, k.top_k_runs, k.top_k_passages, k.min_passage_score)
        # the question-shape exemplars are embedded now, not during the first question (~1-3 s on CPU)
        embedder = passages.embedder if passages is not None else None
        classifier_for(embedder).warm()
        warm(embedder)   # and the routing exemplars (route.py)
        return retriever

    def runs(self) -> RunSnapshot:
        """The current runs: re-read incrementally (new and changed rows only) when the DB file or
        its WAL changed on disk, so a run logged or imported a moment ago is in the next answer."""
        snapshot = self.live_runs.snapshot()
        self.skipped_rows = snapshot.skipped
        return snapshot

    def finder(self) -> FactFinder:
        """The fact finder over the current runs, built once per DB change (cached on the snapshot)."""
        top_k = self.top_k_runs
        return self.runs().derived(f"fact_finder:{top_k}", lambda runs: FactFinder(runs, top_k))

    def acts_on(self, words: str) -> bool:
        """Whether `words` make a question this assistant can act on: a query the parser composes
        (run, flag, document), a named thing the DB lacks, or small talk it knows. Not so:
        no query shape expresses it, or unclassified chit-chat ("could you tell me?"), which is
        also what a question broken off in a pause reads as. Parse only, nothing is run."""
        with self._parse_lock:
            outcome = self.finder().parse(words, None, classifier_for(self._embedder()))
        parsed = outcome.parsed
        if isinstance(parsed, SmallTalk):
            return parsed.kind != "other"
        return not (isinstance(parsed, Unsupported) and parsed.about == "shape")

    def retrieve(self, question: str, context: Context | None = None) -> Retrieval:
        """Parse the question into a typed query (rules + MiniLM exemplars, no LLM), run it, add passages."""
        t0 = time.perf_counter()
        finder = self.finder()
        timings: dict = {}
        with self._parse_lock:
            factset = finder.ask(question, context, classifier_for(self._embedder()),
                                 timings=timings)
        retrieval = self._with_passages(question, factset, t0, timings)
        if retrieval.route is not None and retrieval.route.route == "both":
            # the run is the one the question picks without its document part ("publish" is no flag query)
            with self._parse_lock:
                picked = finder.ask(run_part(question), context, classifier_for(self._embedder()))
            if picked.facts and isinstance(picked.query, RunQuery):
                retrieval = dataclasses.replace(retrieval, factset=picked)
        return retrieval

    def execute(self, question: str, parsed, context: Context | None = None) -> Retrieval:
        """Run an already validated query (e.g. one an LLM planner wrote) for `question`."""
        t0 = time.perf_counter()
        factset = self.finder().find(parsed)
        return self._with_passages(question, factset, t0, {"query": (time.perf_counter() - t0) * 1000})

    def _embedder(self) -> Embedder | None:
        """The question embedder of the passage source (None: no index)."""
        return self.passages.embedder if self.passages is not None else None

    def _index(self) -> KnowledgeIndex:
        """The loaded index version behind the passage source (a LiveIndex or a KnowledgeIndex)."""
        return self.passages.current()

    def _db_words(self) -> frozenset[str]:
        """The DB's names (metrics, parameters, datasets, model kinds) as words, for routing."""
        from labvoice.knowledge.doc_search import words

        snapshot = self.runs()
        vocab = snapshot.vocab   # outside `derived` (its lock is not re-entrant)

        def build(_runs) -> frozenset[str]:
            from labvoice.knowledge.query.wording import words_for_name

            names = [str(n) for n in list(vocab.metrics) + list(vocab.params) + list(vocab.datasets)
                     + list(vocab.model_kinds)]
            said = [words_for_name(n) for n in names]   # as people say them: val_f1 -> "validation F1"
            return frozenset(w for text in names + said for w in words(text))
        return snapshot.derived("route_db_words", build)

    def _route(self, question: str, factset: QueryResult, warnings: list[str]) -> tuple[RouteDecision, tuple]:
        """Where the question goes (route.py) and, for documents, the hybrid search's passages."""
        from labvoice.knowledge.doc_search import query_vector, search_for

        embedder = self._embedder()
        search = None
        if self.passages is not None and self.top_k_passages:
            try:
                search = search_for(self._index())
            except Exception as err:  # a broken index must never lose the SQL answer
                warnings.append(f"knowledge index unusable ({err}); answering from the run DB only. "
                                "Rebuild it with: labvoice index (in a checkout also python scripts/build_index.py)")
                log.warning("document search failed: %s", err)
        vector: list = []

        def embedded():
            if not vector and embedder is not None:
                vector.append(query_vector(embedder, question))
            return vector[0] if vector else None

        decision = decide(question, factset.query, bool(factset.facts),
                          vocabulary=search.vocabulary if search is not None else None, db_words=self._db_words(),
                          meaning=lambda: meaning_margin(embedder, embedded()),
                          doc_words=search.words if search is not None else frozenset())
        if decision.route not in ("documents", "both") or search is None or embedded() is None:
            return decision, ()
        decision = dataclasses.replace(decision, unknown=unknown_words(question, self._db_words(), search.words))
        if decision.route == "both":   # the document's rule, not the run's names ("wine" is in the dataset notes)
            rule = document_part(question, self._db_words())
            decision = dataclasses.replace(decision, document_question=rule)
            hits = search.search(rule, query_vector(embedder, rule), self.top_k_passages)
        else:
            hits = search.search(question, embedded(), self.top_k_passages)
        return decision, tuple(Passage(h.passage.text, "doc", (), h.score, h.passage.path, h.passage.heading)
                               for h in hits)

    def _with_passages(self, question: str, factset: QueryResult, t0: float, timings: dict) -> Retrieval:
        query = factset.query
        t_facts = time.perf_counter()
        passages: tuple[Passage, ...] = ()
        warnings = list(self.warnings)
        decision, documents = self._route(question, factset, warnings)
        if decision.route in ("documents", "both"):
            passages = documents
            if decision.route == "documents":
                factset = QueryResult(DocumentQuestion(topic=question.strip()[:200]), confidence=factset.confidence)
        elif decision.route == "runs":
            passages = self._run_passages(question, factset, warnings)
        t_passages = time.perf_counter()
        if self.skipped_rows:
            warnings.append(f"{self.skipped_rows} malformed run row(s) in {self.store.path} were skipped")
        timings.update({"facts": (t_facts - t0) * 1000, "passages": (t_passages - t_facts) * 1000})
        return Retrieval(question, factset, passages, tuple(dict.fromkeys(warnings)), timings, decision)

    def _run_passages(self, question: str, factset: QueryResult, warnings: list[str]) -> tuple[Passage, ...]:
        """Passages for a run question (run notes, summaries) when no facts answer it."""
        query = factset.query
        # A run query with facts does not search: the prompt shows passages only when there are no
        # facts (prompt.py), so they could not ground anything, and the search's question embedding
        # would sit before the first piece.
        if self.passages is None or not self.top_k_passages or isinstance(query, FlagRequest) or \
                (isinstance(query, RunQuery) and bool(factset.facts)):
            return ()
        try:
            found = self.passages.search_text(question, self.top_k_passages)
        except Exception as err:  # a broken index must never lose the SQL answer
            warnings.append(f"knowledge index unusable ({err}); answering from the run DB only. "
                            "Rebuild it with: labvoice index (in a checkout also python scripts/build_index.py)")
            log.warning("passage search failed: %s", err)
            return ()
        return tuple(Passage(p.text, p.source, tuple(p.run_ids), float(p.score), str(p.path or ""),
                             p.heading) for p in found if p.score >= self.min_passage_score)
