"""The Retriever's passages: searched for document questions, not for run questions the facts answer
(no question embedding before the first piece), and a broken index still warns on every answer."""
from __future__ import annotations

from labvoice.knowledge.passages import LiveIndex
from labvoice.knowledge.retriever import Retriever

FACT_QUESTION = "Which run has the best validation accuracy on wine?"
DOC_QUESTION = "What does the evaluation protocol say about splits?"


class CountingIndex(LiveIndex):
    """The real live index, counting text searches (run notes and summaries)."""

    searches = 0

    def search_text(self, text: str, k: int):
        self.searches += 1
        return super().search_text(text, k)


def _retriever(config, db, index_dir, embedder) -> tuple[Retriever, CountingIndex]:
    live = CountingIndex(index_dir, embedder)
    return Retriever.from_config(config.replace(**{"paths.db": db}), live), live


def test_a_run_question_with_facts_does_not_search_but_a_document_question_does(config, demo_db, demo_index,
                                                                                 embedder):
    retriever, live = _retriever(config, demo_db, demo_index, embedder)
    facts = retriever.retrieve(FACT_QUESTION)
    assert facts.factset.facts and facts.passages == () and live.searches == 0 and not facts.warnings
    assert facts.route.route == "runs" and facts.route.margin == 0.0     # no routing embedding either
    docs = retriever.retrieve(DOC_QUESTION)
    assert docs.route.route == "documents" and live.searches == 0      # the hybrid search (doc_search.py)
    assert docs.passages and docs.passages[0].source == "doc" and docs.passages[0].path == "evaluation_protocol.md"
    assert docs.passages[0].heading == "Splits"


def test_a_missing_index_still_warns_on_a_run_question(config, demo_db, embedder, tmp_path):
    retriever, live = _retriever(config, demo_db, tmp_path / "no_index", embedder)
    facts = retriever.retrieve(FACT_QUESTION)
    assert facts.factset.facts and live.searches == 0
    assert any("knowledge index" in w and "build_index.py" in w for w in facts.warnings), facts.warnings
