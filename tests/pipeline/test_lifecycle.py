"""The turn lifecycle through the orchestrator's public API (typed questions, no audio devices, the
real models): a question after a pause, questions that supersede each other, an interrupt storm,
and stop then start. Every turn ends exactly once, with no false error, and status and speaking
agree.

(Before the turn controller, the question typed after a pause reused the running turn's cancel
token: the old turn was stale but not cancelled, the thinker waited 30 s for an end marker the
voice loop had dropped, and a false "playback stopped reporting" error appeared.)
"""
from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict

import pytest

from labvoice.events import AnswerDone, ErrorEvent, Interrupted, Status, StatusChanged, TurnEnded
from labvoice.pipeline.orchestrator import Orchestrator

from tests.pipeline.conftest import TURN_TIMEOUT_S, count_answer, rewire

SMALL_TALK = "Hi there, how are you today?"   # the LLM writes this answer: the turn thinks for a while


class Recorder:
    """Every event of one subscription, by turn id, collected on a thread."""

    def __init__(self, orch: Orchestrator) -> None:
        self.events = orch.events()
        self.by_turn: dict[int, list] = defaultdict(list)
        self.all: list = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            with self._cond:
                self.all.append(event)
                self.by_turn[event.turn_id].append(event)
                self._cond.notify_all()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def wait(self, predicate, what: str, timeout: float = TURN_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} did not happen within {timeout} s; saw "
                                         f"{[type(e).__name__ for e in self.all][-30:]}")
                self._cond.wait(min(left, 0.2))

    def of(self, kind, turn_id: int | None = None) -> list:
        with self._cond:
            source = self.all if turn_id is None else self.by_turn[turn_id]
            return [e for e in source if isinstance(e, kind)]

    def ended(self, turn_id: int) -> bool:
        return bool(self.of(TurnEnded, turn_id))

    def wait_ended(self, *turn_ids: int) -> None:
        self.wait(lambda: all(self.ended(t) for t in turn_ids), f"the end of turns {turn_ids}")

    def endings(self, turn_id: int) -> list[str]:
        return [e.reason for e in self.of(TurnEnded, turn_id)]

    def assert_healthy(self) -> None:
        """No error; every StatusChanged has speaking <=> Speaking."""
        errors = self.of(ErrorEvent)
        assert not errors, [f"{e.stage}: {e.message}" for e in errors]
        for event in self.of(StatusChanged):
            assert event.speaking == (event.status is Status.SPEAKING), event


@pytest.fixture
def recorded(make_driver):
    driver = make_driver()
    recorder = Recorder(driver.orch)
    yield driver.orch, recorder
    recorder.close()


def test_a_question_typed_after_pause_is_answered_without_waiting_or_a_false_error(recorded, heldout_rows):
    orch, rec = recorded
    first = orch.ask_text(SMALL_TALK)
    rec.wait(lambda: any(e.status is Status.THINKING for e in rec.of(StatusChanged, first)), "thinking")
    orch.pause()
    question, ids = count_answer(heldout_rows)
    second = orch.ask_text(question)
    rec.wait_ended(first, second)
    assert not rec.of(ErrorEvent), [f"{e.stage}: {e.message}" for e in rec.of(ErrorEvent)]
    assert rec.endings(first) == ["interrupted"]
    assert rec.endings(second) == ["done"]
    done = rec.of(AnswerDone, second)
    assert len(done) == 1 and set(done[0].used_run_ids) == ids and not done[0].interrupted
    # The old turn ended before the new one said anything: nothing waited for a silence timeout.
    assert rec.all.index(rec.of(TurnEnded, first)[0]) < rec.all.index(done[0])
    rec.assert_healthy()
    rec.wait(lambda: orch.status is Status.PAUSED, "Paused again")
    orch.resume()
    assert orch.status is Status.IDLE and not orch.is_speaking()   # no microphone on the text path


def test_questions_that_supersede_each_other_each_end_once(recorded, heldout_rows):
    orch, rec = recorded
    question, ids = count_answer(heldout_rows)
    turns = [orch.ask_text(SMALL_TALK), orch.ask_text("Which run had the best validation accuracy on mnist?"),
             orch.ask_text(question)]
    rec.wait_ended(*turns)
    assert [rec.endings(t) for t in turns] == [["interrupted"], ["interrupted"], ["done"]]
    assert [(e.turn_id, e.reason) for e in rec.of(Interrupted)] == [(turns[0], "superseded"),
                                                                    (turns[1], "superseded")]
    assert set(rec.of(AnswerDone, turns[2])[0].used_run_ids) == ids
    rec.assert_healthy()
    assert not orch.is_speaking() and orch.snapshot().open_turns == 0


def test_an_interrupt_storm_cuts_only_the_running_turn_and_the_next_turn_works(recorded, heldout_rows):
    orch, rec = recorded
    for _ in range(5):
        orch.interrupt()                      # nothing running: nothing to cut
    assert not rec.of(Interrupted)
    cut = orch.ask_text(SMALL_TALK)
    for _ in range(10):
        orch.interrupt()                      # during retrieval / LLM
    rec.wait_ended(cut)
    assert rec.endings(cut) == ["interrupted"]
    assert [e.turn_id for e in rec.of(Interrupted)] == [cut]     # cut once, by the first interrupt
    question, ids = count_answer(heldout_rows)
    turn = orch.ask_text(question)
    rec.wait_ended(turn)
    done = rec.of(AnswerDone, turn)
    assert rec.endings(turn) == ["done"] and set(done[0].used_run_ids) == ids and not done[0].interrupted
    rec.assert_healthy()


def test_stop_then_start_works_every_time(live_stages, heldout_db, tmp_path, heldout_rows):
    from labvoice.knowledge.store import copy_db

    stages = rewire(live_stages, db=copy_db(heldout_db[0], tmp_path / "runs.db"), index=tmp_path / "no-index",
                    logs=tmp_path / "logs")
    orch = Orchestrator(stages.config, stages=stages, with_audio_input=False, with_audio_output=False)
    orch.set_style(verbosity=0.0)
    rec = Recorder(orch)
    threads_before = threading.active_count()
    question, ids = count_answer(heldout_rows)
    try:
        for _ in range(3):
            orch.start()
            assert orch.alive and orch.status is Status.IDLE
            cut = orch.ask_text(SMALL_TALK)
            orch.stop()                               # mid-turn
            rec.wait_ended(cut)
            assert rec.endings(cut) == ["interrupted"] and orch.status is Status.IDLE and not orch.alive
            while_stopped = orch.ask_text(question)   # nobody to answer: it ends at once
            assert orch.snapshot().open_turns == 0
            rec.wait_ended(while_stopped)
            assert rec.endings(while_stopped) == ["interrupted"]
            orch.start()
            answered = orch.ask_text(question)
            rec.wait_ended(answered)
            assert rec.endings(answered) == ["done"]
            assert set(rec.of(AnswerDone, answered)[0].used_run_ids) == ids
            orch.stop()
    finally:
        orch.stop()
        rec.close()
    assert threading.active_count() <= threads_before, [t.name for t in threading.enumerate()]
    rec.assert_healthy()
