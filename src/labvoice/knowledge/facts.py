"""Facts from the run manifests for one question: parse it into a typed query (knowledge/query/), run the
query over the loaded runs, and return a `QueryResult` (typed rows, worded facts, claims, run ids).

`FactFinder` is built once per loaded run list (the retriever caches it per DB change); the NumPy
columns behind the queries are built on the first question, and the shape classifier (MiniLM
exemplars) is shared by every finder that uses the same embedder.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.compose import Composer, Context, ParseOutcome
from labvoice.knowledge.query.execute import Executor
from labvoice.knowledge.query.model import Clarify, Fact, QueryResult, RunQuery
from labvoice.knowledge.query.shapes import ShapeClassifier
from labvoice.knowledge.store import Run
from labvoice.knowledge.vocab import Vocabulary

__all__ = ["Context", "Fact", "FactFinder", "QueryResult", "classifier_for", "context_after"]

_CLASSIFIERS: dict[int, ShapeClassifier] = {}
_CLASSIFIERS_LOCK = threading.Lock()


def classifier_for(embedder: Any | None) -> ShapeClassifier:
    """One shape classifier per embedder (its exemplar vectors are computed once)."""
    with _CLASSIFIERS_LOCK:
        key = id(embedder)
        if key not in _CLASSIFIERS:
            _CLASSIFIERS[key] = ShapeClassifier(embedder)
        return _CLASSIFIERS[key]


def context_after(result: QueryResult) -> Context:
    """What a later "it" or "that one" refers to after this result."""
    query = result.query
    metric = query.metric_name if isinstance(query, RunQuery) else None
    datasets = query.datasets if isinstance(query, RunQuery) else ()
    pending = query if isinstance(query, Clarify) else None
    return Context(run_ids=result.used_run_ids, datasets=datasets, metric=metric, pending=pending)


class FactFinder:
    """Parses and answers questions over one list of runs."""

    def __init__(self, runs: list[Run], default_top_k: int = 3, embedder: Any | None = None) -> None:
        self.runs = runs
        self.default_top_k = default_top_k
        self.classifier = classifier_for(embedder) if embedder is not None else None
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._vocab: Vocabulary | None = None

    @property
    def by_id(self) -> dict[str, Run]:
        return {r.run_id: r for r in self.runs}

    @property
    def vocab(self) -> Vocabulary:
        """The DB's names (built with the catalog, in the same pass over the runs)."""
        return self.catalog.vocab

    @property
    def catalog(self) -> Catalog:
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog.build(self.runs)
                self._executor = Executor(self._catalog)
            return self._catalog

    @property
    def executor(self) -> Executor:
        self.catalog  # noqa: B018 - builds it
        return self._executor

    def parse(self, question: str, context: Context | None = None, classifier: ShapeClassifier | None = None,
              now: datetime | None = None) -> ParseOutcome:
        composer = Composer(self.catalog, classifier or self.classifier, self.default_top_k, self.executor)
        return composer.parse(question, context, now)

    def find(self, parsed: Any, confidence: float = 1.0, now: datetime | None = None) -> QueryResult:
        """Execute an already parsed (or LLM-planned, validated) query; times are worded relative
        to `now` (None: the clock)."""
        return self.executor.run(parsed, confidence, now)

    def ask(self, question: str, context: Context | None = None, classifier: ShapeClassifier | None = None,
            now: datetime | None = None, timings: dict | None = None) -> QueryResult:
        t0 = time.perf_counter()
        outcome = self.parse(question, context, classifier, now)
        t1 = time.perf_counter()
        result = self.find(outcome.parsed, outcome.confidence, now)
        if timings is not None:
            timings["parse"] = (t1 - t0) * 1000
            timings["query"] = (time.perf_counter() - t1) * 1000
            timings.update({f"parse_{k}": v for k, v in outcome.timings_ms.items()})
        return result
