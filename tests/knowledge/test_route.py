"""Routing by meaning (knowledge/route.py): a question that names a document term goes to the
documents even when it names a metric; run questions with facts stay run answers; a run measured
against a document's rule is both; greetings stay small talk."""
from __future__ import annotations

import pytest

from labvoice.knowledge.passages import LiveIndex
from labvoice.knowledge.retriever import Retriever


@pytest.fixture(scope="module")
def retriever(config, demo_db, demo_index, embedder) -> Retriever:
    return Retriever.from_config(config.replace(**{"paths.db": demo_db}), LiveIndex(demo_index, embedder))


@pytest.mark.parametrize("question, route", [
    ("What is meant by macro F1?", "documents"),                           # names the metric val_f1
    ("How do we build the validation split?", "documents"),
    ("Which items are on the checklist before I publish?", "documents"),
    ("What does our handbook say about early stopping?", "documents"),
    ("How many features does each breast cancer tumour have?", "documents"),
    ("Would our top digits run pass the publishing checklist?", "both"),
    ("Which run has the highest validation F1?", "runs"),
    ("How many runs used the MLP on iris?", "runs"),
    ("What is the mean validation accuracy per dataset?", "runs"),
    ("Good morning!", "small_talk"),
    ("Thanks a lot", "small_talk"),
])
def test_routes(retriever, question, route):
    got = retriever.retrieve(question)
    assert got.route.route == route, got.route
    if route == "documents":
        assert got.factset.query.type == "documents" and got.passages and got.passages[0].source == "doc"
    if route == "both":
        assert got.factset.facts and got.passages[0].path == "publishing_checklist.md"


def test_a_run_answer_with_facts_is_not_routed_by_a_dataset_heading(retriever):
    """datasets.md has a heading per dataset; naming the dataset is not naming a document term."""
    got = retriever.retrieve("Which model did best on wine?")
    assert got.route.route == "runs" and got.factset.facts and got.passages == ()


@pytest.mark.parametrize("question", [
    "May the best SVM on breast cancer be published according to our checklist?",   # "according to" asks a document
    "Does the top logistic regression on wine satisfy the publishing checklist?",     # picked by rank, no "run"
])
def test_a_run_picked_by_rank_and_judged_by_a_document_is_both(retriever, question):
    got = retriever.retrieve(question)
    assert got.route.route == "both", got.route
    assert got.factset.query.type == "runs" and got.factset.facts     # the run itself, not the flagged runs
    assert got.passages[0].path == "publishing_checklist.md"


def test_publish_in_a_both_question_does_not_make_it_a_question_about_flags(retriever):
    got = retriever.retrieve("Is our best iris run good enough to publish by the checklist?")
    assert got.route.route == "both" and "flag" not in got.factset.display_answer.lower()
    assert "iris" in got.factset.display_answer


def test_the_parts_of_a_both_question():
    from labvoice.knowledge.route import document_part, run_part

    assert run_part("Is our best digits run good enough to publish by the checklist?") == "Is our best digits run?"
    assert run_part("Can the top MLP be published according to the protocol?") == "Can the top MLP?"
    from labvoice.knowledge.doc_search import words

    db_words = frozenset(words("digits mlp"))   # as the retriever holds them
    assert document_part("Does the top MLP on digits meet the publishing checklist?", db_words) == \
        "Does the best on the checklist?"
    assert document_part("How should I quote our best digits run by the checklist?", db_words) == \
        "How should I quote our best run by the checklist?"
