"""Turn details in the conversation view: beside the spoken words, the answer with full run ids and
exact values, and the query that was executed (gui/conversation.py)."""
from __future__ import annotations

import pytest

QUERY = {"type": "runs", "shape": "rank", "filters": [{"field": {"kind": "dataset"}, "op": "=", "value": "mnist"}],
         "metric": "val_acc", "order": {"field": {"kind": "metric", "name": "val_acc"}}, "limit": 1}


def test_query_summary_reads_as_one_line():
    from labvoice.gui.conversation import query_summary

    assert query_summary(QUERY) == "rank by val_acc (descending), dataset = mnist, limit 1"
    group = {"type": "runs", "shape": "group", "metric": "val_acc", "aggregate": "mean", "group_by": {"kind": "model"}}
    assert query_summary(group) == "group, mean of val_acc, per model"
    assert query_summary({"type": "unsupported", "reason": "no query for causes"}) == "unsupported: no query for causes"
    compare = {"type": "runs", "shape": "compare", "compare": [
        {"shape": "rank", "order": {"field": {"kind": "metric", "name": "val_acc"}}, "limit": 2,
         "filters": [{"field": {"kind": "model"}, "op": "=", "value": "svm"}]}]}
    assert "compare [rank by val_acc (descending), model = svm, limit 2]" in query_summary(compare)


@pytest.fixture
def view(display):
    import customtkinter as ctk

    from labvoice.gui.conversation import ConversationView

    root = ctk.CTk()
    widget = ConversationView(root, width=600, height=300)
    widget.pack()
    yield widget
    root.destroy()


def test_the_exact_answer_and_the_query_are_shown_beside_the_spoken_words(view):
    spoken = "The best run on MNIST is a resnet 18 from today, at 91.7 percent."
    display = "1. fad82f5e (resnet18 on mnist, val_acc 0.9171)"
    view.add_transcript((0, 1), "Which run is best on mnist?", "text")
    view.finish_answer((0, 1), spoken, False, False, ("fad82f5e",), display=display, query=QUERY)
    text = view.text()
    assert spoken in text and "exactly: " + display in text
    assert "query: rank by val_acc (descending), dataset = mnist, limit 1" in text
    assert text.index(spoken) < text.index("exactly:")


def test_no_exact_line_when_the_words_are_the_same(view):
    view.finish_answer((0, 2), "Hello there.", False, False, (), display="Hello there.", query=None)
    assert "exactly:" not in view.text() and "query:" not in view.text()


def test_a_document_answer_shows_its_passage_and_file(view):
    source = {"file": "evaluation_protocol.md", "heading": "Splits", "sentences": ["75 % train."],
              "passage": "Every dataset gets one fixed, stratified train/validation split: 75 % train."}
    view.finish_answer((0, 3), "The evaluation protocol says: 75 percent train.", False, False, (),
                       display="75 % train.", query={"type": "documents", "topic": "split"}, sources=(source,))
    text = view.text()
    assert "from evaluation_protocol.md \u00b7 Splits: \u201cEvery dataset gets one fixed" in text
    assert text.index("The evaluation protocol says") < text.index("from evaluation_protocol.md")
