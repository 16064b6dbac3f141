"""The LLM fails mid-answer (the real llama.cpp model, wrapped to raise after a few tokens): the
turn still ends with an answer built from the facts, the model is released, the next turn works.
A server that dies mid-stream is covered by the OpenAI client's tests (tests/llm)."""
from __future__ import annotations

from labvoice.events import AnswerDone

from tests.pipeline.conftest import assert_next_turn_works
from tests.pipeline.faults import INJECTED, FailingChat, ScriptedChat

TOKENS_BEFORE_FAILURE = 1   # one-sentence answers can be short: fail early enough to be sure it happens
LLM_PHRASES = {"llm.facts_first": False}   # the LLM speaks first, the facts are the fallback


def _best_on(rows, dataset: str, metric: str = "val_acc") -> str:
    return max((r for r in rows if r["dataset"] == dataset), key=lambda r: r[metric])["run_id"]


def test_llm_error_mid_answer_falls_back_to_the_facts(make_driver, live_stages, heldout_rows):
    chat = FailingChat(live_stages.brain.chat_model)
    driver = make_driver(chat_model=chat, settings=LLM_PHRASES)
    chat.arm(TOKENS_BEFORE_FAILURE)
    turn = driver.ask("Which run had the best validation accuracy on mnist?")
    best = _best_on(heldout_rows, "mnist")
    assert chat.raised == 1
    assert any(e.stage == "llm" and INJECTED in e.message for e in turn.errors), turn.errors
    assert turn.ended.reason == "done"
    assert turn.done.used_run_ids == (best,)
    assert turn.done.fallback and best in turn.done.display   # the templated answer (shown with the full id)
    assert_next_turn_works(driver, heldout_rows)


def test_llm_error_during_a_remark_keeps_the_spoken_facts(make_driver, live_stages, heldout_rows):
    """Facts first (the default): the facts are out before the LLM is asked; its failure while
    adding a remark is reported and the answer stands."""
    chat = FailingChat(live_stages.brain.chat_model)
    driver = make_driver(chat_model=chat, verbosity=1.0)
    chat.arm(TOKENS_BEFORE_FAILURE)
    turn = driver.ask("Which run had the best validation accuracy on mnist?")
    best = _best_on(heldout_rows, "mnist")
    assert chat.raised == 1
    assert any(e.stage == "llm" and INJECTED in e.message for e in turn.errors), turn.errors
    assert turn.ended.reason == "done" and not turn.done.interrupted
    assert turn.done.used_run_ids == (best,) and best in turn.done.display and not turn.done.fallback
    assert_next_turn_works(driver, heldout_rows)


def test_unexpected_llm_crash_ends_the_turn_and_releases_the_model(make_driver, live_stages, heldout_rows):
    chat = FailingChat(live_stages.brain.chat_model)
    driver = make_driver(chat_model=chat, settings=LLM_PHRASES)
    chat.arm(TOKENS_BEFORE_FAILURE, RuntimeError(f"{INJECTED}: segfault-like crash in the backend"))
    turn = driver.ask("Which run had the lowest training loss on fashion mnist?")
    assert chat.raised == 1
    assert any(e.stage == "llm" and INJECTED in e.message for e in turn.errors), turn.errors
    assert turn.ended.reason in ("done", "error")
    assert len(turn.of(AnswerDone)) <= 1
    # The llama.cpp context is locked per generation: a leaked lock would hang this turn.
    assert_next_turn_works(driver, heldout_rows)
    assert len(chat.prompts) == 2


def test_runaway_numbers_from_the_llm_are_rejected_not_fatal(make_driver, heldout_rows):
    """A small model can stream absurd numbers ("1e999", hundreds of digits): the guard must reject
    them (it once crashed converting infinity to int, which failed the whole turn)."""
    runaway = ["The", " best", " run", " scored", " 1" + "0" * 400, ".", " Also", " 1e999", "."]
    driver = make_driver(chat_model=ScriptedChat(runaway), settings=LLM_PHRASES)
    turn = driver.ask("Which run had the best validation accuracy on mnist?")
    best = _best_on(heldout_rows, "mnist")
    assert not turn.errors, turn.errors
    assert turn.done.fallback and turn.done.used_run_ids == (best,) and best in turn.done.display
    assert "0000" not in turn.done.text
