"""The benchmark's document questions (labvoice/benchmarks/documents.py): how an answer is judged
right, and the order the two kinds are asked in."""
from __future__ import annotations

from labvoice.benchmarks.documents import DOC_QUESTIONS, DocBenchQuestion, doc_answered_right, interleave, says_key_facts

SOURCE = ({"file": "publishing_checklist.md", "heading": "", "sentences": ["Never round up."]},)


def test_every_key_must_be_said_one_alternative_each():
    keys = (("25 %", "25 percent"), ("seed 0",))
    assert says_key_facts(keys, "75 % train, 25 % validation, split SEED 0.")
    assert not says_key_facts(keys, "75 % train, 25 % validation.")


def test_a_document_answer_is_right_only_with_a_source_and_its_key():
    question = DocBenchQuestion("Can a quoted number be rounded up?", (("never round up",),))
    assert doc_answered_right(question, "Never round up.", SOURCE)
    assert not doc_answered_right(question, "Never round up.", ())        # not from a document
    assert not doc_answered_right(question, "Quote numbers exactly.", SOURCE)


def test_the_kinds_alternate_so_both_meet_the_same_load():
    assert interleave(["f1", "f2", "f3"], ["d1"]) == ["f1", "d1", "f2", "f3"]
    asked = interleave(["f"] * 12, [q.text for q in DOC_QUESTIONS])
    assert len(asked) == 12 + len(DOC_QUESTIONS) and asked[1] == DOC_QUESTIONS[0].text
    assert len(DOC_QUESTIONS) >= 8 and all(q.keys for q in DOC_QUESTIONS)
