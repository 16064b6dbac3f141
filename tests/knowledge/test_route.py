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
