"""The document suite (evaluation/documents_suite.py) through the real answerer on the CPU profile:
>= 90 % of the questions right on each document set (the bundled knowledge base, scikit-learn's own
dataset descriptions, a handbook PDF made here), no answer claimed for a question no document
answers, and run-and-document questions answered with both."""
from __future__ import annotations

import pytest

from labvoice.evaluation.documents_eval import run_suite, score_case, table
from labvoice.evaluation.documents_suite import KNOWLEDGE_BASE, MIXED, NO_DOCUMENT, SETS, DocCase
from labvoice.answer.result import AnswerResult
from labvoice.llm.llama_cpp import LlamaCppChat
from labvoice.benchmarks.demo_inputs import make_pdf


@pytest.fixture(scope="module")
def scores(config, demo_db, embedder, tmp_path_factory):
    cpu = config.replace(**{"paths.db": demo_db, "profile": "cpu"})
    chat = LlamaCppChat.from_config(cpu)
    try:
        result = run_suite(cpu, embedder, chat, tmp_path_factory.mktemp("documents_eval"), make_pdf)
    finally:
        chat.close()
    print(table(result))
    return {s.name: s for s in result}


def test_the_suite_is_big_enough():
    assert sum(len(cases) for cases in SETS.values()) >= 60 and len(SETS) >= 3
    assert len(NO_DOCUMENT) >= 10 and len(MIXED) >= 6


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_document_set_is_answered(scores, name):
    score = scores[name]
    wrong = [f"{c.question}: {c.problem} -> {c.answer[:120]}" for c in score.cases if not c.ok]
    assert score.rate >= 0.9, wrong


def test_no_document_question_gets_a_claimed_answer(scores):
    score = scores["no_document (every set)"]
    assert score.total == 3 * len(NO_DOCUMENT) and score.false_answers == 0, \
        [c.answer[:120] for c in score.cases if c.false_answer]


def test_run_and_document_questions_say_both(scores):
    score = scores["mixed_runs_and_documents"]
    assert score.rate >= 0.9, [f"{c.question}: {c.problem} -> {c.answer[:120]}" for c in score.cases if not c.ok]


def test_the_check_is_not_fooled():
    """The scorer itself: a run statistic, a greeting, an invented number and a claimed answer fail."""
    case = KNOWLEDGE_BASE[1]          # the validation split: "75 %" or "stratified"
    corpus = "Every dataset gets one fixed, stratified train/validation split: 75 % train."
    run_stat = AnswerResult(question=case.question, display="The average val_f1 is 0.943 over 59 runs.",
                            shape="group")
    assert not score_case(case, run_stat, corpus).ok
    invented = AnswerResult(question=case.question, display="A stratified split, 80 % train.", shape="documents",
                            sources=({"file": "evaluation_protocol.md"},))
    assert "80" in score_case(case, invented, corpus).problem
    right = AnswerResult(question=case.question, display="A fixed, stratified split: 75 % train.",
                         shape="documents", sources=({"file": "evaluation_protocol.md"},))
    assert score_case(case, right, corpus).ok
    claimed = AnswerResult(question="parental leave?", display="Leave is 75 days.", shape="documents")
    none = score_case(DocCase("parental leave?", (), "none"), claimed, corpus)
    assert none.false_answer and not none.ok
