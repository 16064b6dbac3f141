"""Answers from the passage that says it (answer/documents.py) through the answerer: the sentences
that answer, said with their source and fit for the ear, the sources in `ask --json`, and "I don't
find that in your documents" when none says it. The LLM is not asked for any of them."""
from __future__ import annotations

import pytest

from labvoice.answer.documents import NOT_FOUND, for_the_ear, source_name, split_sentences
from labvoice.answer.grounded import GroundedAnswerer
from labvoice.answer.spoken import spoken_problems
from labvoice.cancel import CancelToken
from labvoice.knowledge.passages import LiveIndex
from labvoice.knowledge.retriever import Retriever
from labvoice.style import Style
from tests.knowledge.conftest import demo_db, demo_index, demo_run, embedder, config, chunking  # noqa: F401
from tests.pipeline.faults import ScriptedChat


@pytest.fixture(scope="module")
def answerer(config, demo_db, demo_index, embedder):
    cfg = config.replace(**{"paths.db": demo_db})
    model = ScriptedChat.saying("The LLM should not have been asked.")
    return GroundedAnswerer(Retriever.from_config(cfg, LiveIndex(demo_index, embedder)), model, cfg.llm,
                            cfg.pipeline), model


def _ask(answerer, question):
    grounded, _ = answerer
    return grounded.answer(question, Style(verbosity=0.4), CancelToken()).finish()


def test_the_sentence_that_answers_is_said_with_its_source(answerer):
    result = _ask(answerer, "How is the data divided into training and validation parts?")
    assert result.shape == "documents" and "25 % validation" in result.display
    assert result.text.startswith("The evaluation protocol says:") and "25 percent validation" in result.text
    assert result.sources[0]["file"] == "evaluation_protocol.md" and result.sources[0]["heading"] == "Splits"
    assert all(s in result.sources[0]["passage"] for s in result.sources[0]["sentences"])
    assert spoken_problems(result.text) == [] and answerer[1].prompts == []


def test_nothing_in_the_documents_is_said_so(answerer):
    result = _ask(answerer, "What does the handbook say about GPU quotas?")
    assert result.text.startswith(NOT_FOUND) and result.sources == () and answerer[1].prompts == []
    assert "about your runs" in result.text


def test_ask_json_carries_the_sources(answerer):
    from labvoice.cli import _result_json
    from labvoice.pipeline.runner import TurnOutcome

    result = _ask(answerer, "What must a run's git diff be before it is published?")
    outcome = TurnOutcome(1, "text", result.question, result.text, "done", result=result)
    sources = _result_json(outcome)["sources"]
    assert sources and sources[0]["file"] == "publishing_checklist.md"
    assert any("empty or reviewed" in s for s in sources[0]["sentences"])


def test_sentences_keep_initials_and_abbreviations_and_drop_list_numbers():
    text = "Creator: R.A. Fisher. Quote numbers, e.g. 0.98, exactly.\n\n2. At least two seeds agree."
    assert split_sentences(text) == ["Creator: R.A. Fisher.", "Quote numbers, e.g. 0.98, exactly.",
                                     "At least two seeds agree."]


def test_for_the_ear_and_source_names():
    assert for_the_ear("val_f1: macro-averaged F1, e.g. on iris") == "val_f1 is macro-averaged F1, for example on iris."
    assert source_name("evaluation_protocol.md") == "the evaluation protocol"
    assert source_name("sub/iris.rst") == "the iris document"


def _with_capable_llm(config, demo_db, demo_index, embedder, phrasing: str):
    """A capable LLM (where the query planner is on: vLLM, an OpenAI-compatible server), played by a
    scripted stand-in: what a large model says cannot be caused on cue on these machines."""
    from labvoice.answer.planner import QueryPlanner

    cfg = config.replace(**{"paths.db": demo_db})
    model = ScriptedChat.saying(phrasing)
    retriever = Retriever.from_config(cfg, LiveIndex(demo_index, embedder))
    return GroundedAnswerer(retriever, model, cfg.llm, cfg.pipeline, planner=QueryPlanner(model)), model


QUESTION = "How is the data divided into training and validation parts?"


def test_a_capable_llm_phrases_the_sentences(config, demo_db, demo_index, embedder):
    phrasing = "The evaluation protocol says the split is stratified, 75 percent train and 25 percent validation."
    grounded, model = _with_capable_llm(config, demo_db, demo_index, embedder, phrasing)
    result = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish()
    assert result.text == phrasing and "25 % validation" in result.display
    assert "75 % train" in model.prompts[0][-1].content and result.sources


def test_a_phrasing_with_a_number_not_in_the_sentences_is_not_spoken(config, demo_db, demo_index, embedder):
    grounded, _ = _with_capable_llm(config, demo_db, demo_index, embedder,
                                    "The protocol keeps 30 percent of the data for validation.")
    result = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish()
    assert "30 percent" not in result.text and result.text.startswith("The evaluation protocol says:")
    assert any("phrasing was not spoken" in d for d in result.dropped)


def test_the_source_is_said_first_as_its_own_short_piece(answerer):
    """The first audio waits for the first piece whole: where the answer comes from is that piece,
    synthesized while the sentence itself is the next one."""
    grounded, _ = answerer
    stream = grounded.answer("Where does a run's artifacts folder get archived?", Style(verbosity=0.4), CancelToken())
    pieces = list(stream)
    assert pieces[0] == "The publishing checklist says:" and len(pieces) >= 2
    assert "next to the paper" in " ".join(pieces[1:]) and stream.result.text == " ".join(pieces)


class _CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def embed_query(self, text):
        return self.embed([text])[0]


def test_warmed_sentences_are_not_embedded_again_at_the_question(demo_index, embedder):
    from labvoice.answer.documents import answer_from_documents, warm_sentences
    from labvoice.knowledge.doc_search import search_for
    from labvoice.knowledge.passages import LiveIndex

    search = search_for(LiveIndex(demo_index, embedder).current())
    counting = _CountingEmbedder(embedder)
    warmed = warm_sentences(search.passages, counting)
    assert warmed == len(counting.texts) and warmed >= 20
    counting.texts.clear()
    question = "When is a run called diverged?"
    hits = search.search(question, embedder.embed_query(question), 3)
    reply = answer_from_documents(question, [h.passage for h in hits], counting)
    assert reply.found and "three times" in reply.display
    assert counting.texts == [question]     # the question only: every sentence was warmed


def test_one_question_is_embedded_once_for_routing_search_and_sentences(embedder):
    from labvoice.knowledge.doc_search import query_vector

    counting = _CountingEmbedder(embedder)
    first = query_vector(counting, "What does the glossary say about alpha?")
    again = query_vector(counting, "What does the glossary say about alpha?")
    assert counting.texts == ["What does the glossary say about alpha?"] and first is again
