"""Writes by voice, end to end on a real DB: a one-run write named in the turn happens at once; a write
to runs of the previous answer, or to several runs, is read back and happens only on "yes"; "undo that"
puts back exactly what was there, also in a new session (a restart); every write is on record."""
from __future__ import annotations

import sqlite3

import pytest

from labvoice.answer.grounded import Conversation, GroundedAnswerer
from labvoice.cancel import CancelToken
from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.retriever import Retriever
from labvoice.knowledge.store import ManifestStore, copy_db
from labvoice.style import Style

from tests.pipeline.faults import ScriptedChat

QUESTION = "Which run had the best validation accuracy on mnist?"
USER_NOTE = "diverged after epoch 4"
HELD_BACK = "DO NOT PUBLISH yet: waiting on the ablation"


class Talk:
    """One session with the assistant (a restart is a new Talk on the same DB)."""

    def __init__(self, config) -> None:
        self.grounded = GroundedAnswerer(Retriever.from_config(config, None), ScriptedChat.saying("Done."),
                                         config.llm, config.pipeline)
        self.conversation = Conversation()

    def say(self, text: str):
        result = self.grounded.answer(text, Style(), CancelToken(), self.conversation).finish()
        self.conversation.remember(text, result.text, result.retrieval, result.interrupted)
        return result


def notes(db) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT run_id, note FROM manifests"))


@pytest.fixture
def db_and_config(cpu_config, heldout_db, tmp_path):
    db = copy_db(heldout_db[0], tmp_path / "runs.db")
    return db, cpu_config.replace(**{"paths.db": db})


def _best(rows, dataset="mnist"):
    return max((r for r in rows if r["dataset"] == dataset), key=lambda r: r["val_acc"])["run_id"]


def test_a_referred_run_is_read_back_and_flagged_on_yes(db_and_config, heldout_db):
    db, config = db_and_config
    best = _best(heldout_db[1])
    ManifestStore(db).set_note(best, USER_NOTE)
    talk = Talk(config)
    talk.say(QUESTION)
    before = notes(db)
    asked = talk.say("Flag it for publishing.")
    assert notes(db) == before                                   # not yet: it was read back
    assert "Say yes to confirm" in asked.text and asked.facts[0]["kind"] == "write_pending"
    done = talk.say("yes")
    assert not done.errors and done.used_run_ids == (best,)
    after = notes(db)
    assert after[best] == f"PUBLISH; {USER_NOTE}"
    assert {k: v for k, v in after.items() if k != best} == {k: v for k, v in before.items() if k != best}
    record = WriteJournal(db).records(limit=1)[0]
    assert (record.run_id, record.before, record.after) == (best, USER_NOTE, f"PUBLISH; {USER_NOTE}")
    assert "Flag it for publishing." in record.words and "yes" in record.words


def test_one_run_named_in_the_turn_is_written_at_once(db_and_config, heldout_db):
    db, config = db_and_config
    run_id = heldout_db[1][3]["run_id"]
    done = Talk(config).say(f"Please flag run {run_id} for publishing.")
    assert done.facts[0]["kind"] == "write_done" and "undo" in done.text
    assert notes(db)[run_id] == "PUBLISH; "
    assert WriteJournal(db).records(limit=1)[0].words == f"Please flag run {run_id} for publishing."


def test_several_runs_wait_for_yes_and_another_turn_drops_the_write(db_and_config, heldout_db):
    db, config = db_and_config
    talk = Talk(config)
    top = talk.say("What are the top three runs by test accuracy?").used_run_ids
    assert len(top) == 3
    before = notes(db)
    asked = talk.say("flag those")
    assert asked.text.startswith("Flag these 3 runs for publishing:") and "Say yes to confirm." in asked.text
    talk.say("Which run has the lowest training loss?")    # something else: the read-back is dropped
    talk.say("yes")
    assert notes(db) == before
    talk.say("What are the top three runs by test accuracy?")
    talk.say("flag those")
    cancelled = talk.say("no")
    assert cancelled.facts[0]["kind"] == "write_cancelled" and notes(db) == before


def test_undo_after_a_restart_puts_back_exactly_what_was_there(db_and_config, heldout_db):
    db, config = db_and_config
    store = ManifestStore(db)
    talk = Talk(config)
    top = talk.say("What are the top three runs by test accuracy?").used_run_ids
    store.set_note(top[0], HELD_BACK)
    store.set_note(top[1], None)
    store.set_note(top[2], "line one\nPUBLISH later, maybe \u2014 ünïcödé")
    before = notes(db)
    talk.say("flag all of them")
    talk.say("Yes, flag them.")
    flagged = notes(db)
    assert all(flagged[r] == ("PUBLISH" if before[r] is None else f"PUBLISH; {before[r]}") for r in top)
    restarted = Talk(config)                                     # a new session: nothing kept in memory
    undone = restarted.say("undo that")
    assert undone.facts[0]["kind"] == "write_undone" and set(undone.used_run_ids) == set(top)
    assert notes(db) == before                                   # byte for byte, NULL included
    kinds = [r.action for r in WriteJournal(db).records(limit=6)]
    assert kinds[:3] == ["undo"] * 3 and kinds[3:] == ["flag"] * 3


def test_unflag_by_voice_keeps_a_held_back_note_and_undo_restores_it(db_and_config, heldout_db):
    db, config = db_and_config
    flagged = next(r["run_id"] for r in heldout_db[1] if r["note"] == "PUBLISH - camera ready")
    talk = Talk(config)
    done = talk.say(f"unflag run {flagged}")
    assert done.facts[0]["kind"] == "write_done" and notes(db)[flagged] == "camera ready"
    talk.say("Undo the last change.")
    assert notes(db)[flagged] == "PUBLISH - camera ready"


def test_the_transcript_of_the_issue_writes_nothing(db_and_config, heldout_db):
    db, config = db_and_config
    best = _best(heldout_db[1])
    ManifestStore(db).set_note(best, HELD_BACK)
    talk = Talk(config)
    before = notes(db)
    assert talk.say(QUESTION).used_run_ids == (best,)
    for question in ("Should I not publish that one?", "What happens if I unflag it?", "Why would I not publish these?"):
        answer = talk.say(question)
        assert answer.facts[0]["kind"] == "write_declined" and not answer.used_run_ids, question
        assert "flag it for publishing" in answer.text
    talk.say("Did I flag it for publishing?")
    assert notes(db) == before and notes(db)[best] == HELD_BACK
