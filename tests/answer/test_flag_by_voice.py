"""'Flag it for publishing' by voice adds the flag to the run's note and keeps the user's words; the
confirmation is spoken only after the write is committed."""
from __future__ import annotations

from labvoice.answer.grounded import Conversation, GroundedAnswerer
from labvoice.cancel import CancelToken
from labvoice.knowledge.retriever import Retriever
from labvoice.knowledge.store import ManifestStore, copy_db
from labvoice.style import Style

from tests.pipeline.faults import ScriptedChat

QUESTION = "Which run had the best validation accuracy on mnist?"
USER_NOTE = "diverged after epoch 4"


def test_flagging_by_voice_keeps_the_note(cpu_config, heldout_db, tmp_path):
    db = copy_db(heldout_db[0], tmp_path / "runs.db")
    best = max((r for r in heldout_db[1] if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])["run_id"]
    store = ManifestStore(db)
    store.set_note(best, USER_NOTE)
    config = cpu_config.replace(**{"paths.db": db})
    grounded = GroundedAnswerer(Retriever.from_config(config, None), ScriptedChat.saying("Done."),
                                config.llm, config.pipeline)
    conversation = Conversation()
    for question in (QUESTION, "Flag it for publishing."):
        result = grounded.answer(question, Style(), CancelToken(), conversation).finish()
        conversation.remember(question, result.text, result.retrieval, result.interrupted)
    assert not result.errors and best in result.used_run_ids
    notes = {r.run_id: r.note for r in store.runs()}
    assert notes[best] == f"PUBLISH; {USER_NOTE}"
    assert all(notes[r["run_id"]] == r["note"] for r in heldout_db[1] if r["run_id"] != best)   # no other run changed
