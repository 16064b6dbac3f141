"""Only an imperative request writes. Near-misses (questions, modal and conditional sentences,
hypotheticals, wishes, negations, reports of past writes) are asked of the real assistant on a real DB,
each right after a question that gives "it" and "those" something to point at and after a write was
read back: none of them writes, and none of them confirms the read-back. The requests that should
write are recognised, with the runs they name."""
from __future__ import annotations

import sqlite3

import pytest

from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.query.writes import is_cancel, is_confirmation, is_undo, is_write_talk, read_request
from labvoice.knowledge.store import copy_db

from tests.answer.test_flag_by_voice import Talk

NEAR_MISSES = [
    # questions, modal openers
    "Should I flag it?", "should i flag it for publishing", "Would you unflag it if the rerun fails?",
    "What happens if I flag it?", "Did I flag it?", "Should I not publish that one?",
    "Why would I not publish these?", "Is it flagged for publishing?", "Can you flag the best one?",
    "Could you unflag those two?", "Would it be a good idea to publish this run?",
    "Do you think I should flag the second one", "Have I already flagged these", "Was that run ever published",
    "Will flagging it change the note?", "How do I flag a run for publishing?", "What does flagging a run do",
    "Which runs did I flag last week?", "Who flagged this one?", "When did I unflag it?", "Are those flagged",
    "Is there any reason not to publish it?", "Shall we publish the top three?",
    "Might it be worth flagging the latest run?", "Must I unflag it before rerunning?",
    "flag it?", "Unflag those two, or not?",
    # conditions and hypotheticals
    "If the ablation finishes, flag it.", "Flag it if it beats the baseline", "Unflag them unless the numbers hold up",
    "Suppose I flag it, what changes?", "Imagine we published all of them", "What if I unflag the best mnist run",
    "In case it diverges, unflag it", "Flag it once the rerun is done", "Assuming it holds, publish it",
    "Publish it when the review is in", "Unflag it whenever you like",
    # statements, wishes, negations, reports
    "I should flag it", "I might unflag those later", "We could publish the second one",
    "I'm not sure whether to flag it", "Maybe flag it", "Perhaps publish that one", "Don't flag it yet",
    "Do not publish that one", "Never publish runs like this", "I flagged it yesterday", "It was flagged by mistake",
    "That one is not for publishing", "No need to unflag anything", "I was going to flag these",
    "They want me to publish it", "Flag nothing for now", "Don't unflag the camera ready run",
    "Not sure I want to publish it", "The flagged runs look good", "Publishing it would be premature",
    "Show me what I flagged", "List the runs flagged for publishing", "Tell me whether to flag it",
    "Flag it as broken", "Mark it as diverged",
]

REQUESTS = [
    ("flag it", "flag", "it"), ("Flag it for publishing.", "flag", "it"), ("unflag those two", "unflag", "those two"),
    ("please flag the best mnist run for publishing", "flag", "the best mnist run"),
    ("Okay, publish that one.", "flag", "that one"), ("take the flag off it", "unflag", "it"),
    ("remove it from the publishing list", "unflag", "it"), ("mark the second one for publication", "flag", "the second one"),
    ("unpublish it please", "unflag", "it"), ("go ahead and unflag them", "unflag", "them"),
    ("Yes, flag them.", "flag", "them"), ("flag the three most recent runs", "flag", "the three most recent runs"),
    ("flag the runs that did not diverge", "flag", "the runs that did not diverge"),
]


def test_there_are_at_least_fifty_near_misses():
    assert len(set(NEAR_MISSES)) >= 50


@pytest.mark.parametrize("sentence", NEAR_MISSES)
def test_a_near_miss_is_no_request(sentence):
    assert read_request(sentence) is None
    assert not is_confirmation(sentence) and not is_undo(sentence)


@pytest.mark.parametrize("sentence, action, named", REQUESTS)
def test_an_imperative_is_a_request(sentence, action, named):
    intent = read_request(sentence)
    assert intent is not None and (intent.action, intent.object_text) == (action, named)


@pytest.mark.parametrize("sentence, yes, no, undo", [
    ("yes", True, False, False), ("Yes please.", True, False, False), ("yep, do it", True, False, False),
    ("yes?", False, False, False), ("yes but only the first one", False, False, False),
    ("no", False, True, False), ("cancel that", False, True, False), ("no?", False, False, False),
    ("undo that", False, False, True), ("Please undo the last change.", False, False, True),
    ("how do I undo that", False, False, False), ("can you undo that?", False, False, False),
    ("don't undo that", False, True, False), ("undo it if it was wrong", False, False, False),
])
def test_short_answers_to_a_read_back(sentence, yes, no, undo):
    assert (is_confirmation(sentence), is_cancel(sentence), is_undo(sentence)) == (yes, no, undo)


def _snapshot(db) -> tuple:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute("SELECT * FROM manifests ORDER BY run_id")), len(WriteJournal(db).records())


def test_no_near_miss_writes_or_confirms_a_read_back(cpu_config, heldout_db, tmp_path):
    db = copy_db(heldout_db[0], tmp_path / "runs.db")
    best = max((r for r in heldout_db[1] if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE manifests SET note = 'DO NOT PUBLISH yet: waiting on the ablation' WHERE run_id = ?",
                     (best,))
    talk = Talk(cpu_config.replace(**{"paths.db": db}))
    before = _snapshot(db)
    for sentence in NEAR_MISSES:
        talk.say("What are the top three runs on mnist?")
        assert talk.say("flag those").facts[0]["kind"] == "write_pending"
        answer = talk.say(sentence)
        kind = answer.facts[0]["kind"] if answer.facts else ""
        assert kind in ("", "write_cancelled", "write_declined") or not kind.startswith("write_"), (sentence, kind)
        talk.say("yes")                                  # the read-back was dropped: this confirms nothing
        assert _snapshot(db) == before, sentence
    talk.say("What are the top three runs on mnist?")
    talk.say("flag those")
    talk.say("yes")                                      # the control: a confirmed request does write
    assert _snapshot(db)[1] == before[1] + 3


@pytest.mark.parametrize("sentence, talk", [
    ("Should I flag it?", True), ("What happens if I unflag it?", True), ("Ignore all that and flag every run", True),
    ("why would I publish that one", True), ("Did I flag it for publishing?", False),
    ("Which runs should I publish?", False), ("Show me what I flagged", False), ("flag it", False),
    ("What does the publishing checklist say?", False), ("The flagged runs look good", False),
])
def test_talk_about_a_write_is_told_how_to_ask(sentence, talk):
    assert is_write_talk(sentence) == talk
