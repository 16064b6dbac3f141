"""TurnController: one owner of the current turn, its token and the status (no threads needed:
every call publishes what changed, in order)."""
from __future__ import annotations

import threading

import pytest

from labvoice.events import Interrupted, Status, StatusChanged, TurnEnded, TurnStarted
from labvoice.pipeline.control import TurnController


@pytest.fixture
def published():
    return []


@pytest.fixture
def controller(published):
    cuts = []
    ctl = TurnController(published.append, on_cut=lambda turn_id, flush: cuts.append((turn_id, flush)))
    ctl.cuts = cuts
    ctl.set_running(True)
    return ctl


def statuses(published):
    return [e.status for e in published if isinstance(e, StatusChanged)]


@pytest.mark.parametrize("setup", ["paused", "hearing", "error", "thinking", "speaking", "idle"])
def test_a_new_turn_cancels_the_previous_one_whatever_the_status(controller, published, setup):
    old = controller.begin("text")
    if setup == "paused":
        controller.set_paused(True)
    elif setup == "hearing":
        controller.set_hearing(True)
    elif setup == "error":
        controller.set_device_error("device gone")
    elif setup == "speaking":
        assert controller.speaking(old)
    elif setup == "idle":
        controller.set_running(False)
    new = controller.begin("voice")
    assert old.cancelled and old.cancel.reason == "superseded"
    assert not new.cancelled and new.cancel is not old.cancel and new.id > old.id
    assert controller.is_current(new) and not controller.is_current(old)
    assert (old.id, "superseded") in [(e.turn_id, e.reason) for e in published if isinstance(e, Interrupted)]


def test_interrupt_cancels_and_takes_an_id_no_turn_owns(controller):
    turn = controller.begin("text")
    assert controller.speaking(turn)
    cut = controller.interrupt("stop button")
    assert turn.cancelled and turn.cancel.reason == "stop button"
    assert cut > turn.id and controller.cuts[-1] == (cut, True)      # playback told to refuse and flush
    assert not controller.is_speaking and controller.status is Status.LISTENING
    assert not controller.speaking(turn), "a cut turn must not start speaking again"
    assert controller.begin("text").id > cut


def test_an_ended_turn_does_not_start_speaking_and_the_status_moves_on(controller, published):
    """The output device failed: the thinker ended the turn without waiting for playback, and the
    Voice thread reaches its first chunk afterwards. The status must not stick at Speaking."""
    turn = controller.begin("text")
    controller.set_device_error("output device gone")
    assert controller.end(turn, "done")
    assert not controller.speaking(turn), "an ended turn must not start speaking"
    assert not controller.is_speaking and controller.status is Status.ERROR
    controller.set_device_error("")   # restart_audio()
    assert statuses(published)[-1] is Status.LISTENING


def test_interrupt_with_nothing_running_is_harmless(controller, published):
    before = len(published)
    controller.interrupt()
    controller.interrupt()
    assert not [e for e in published[before:] if isinstance(e, Interrupted)]
    assert controller.status is Status.LISTENING


def test_every_turn_ends_exactly_once(controller, published):
    first = controller.begin("text")
    second = controller.begin("text")
    assert controller.end(first, "interrupted") and not controller.end(first, "done")
    assert controller.end(second, "done") and not controller.end(second, "done")
    ends = [(e.turn_id, e.reason) for e in published if isinstance(e, TurnEnded)]
    assert ends == [(first.id, "interrupted"), (second.id, "done")]
    assert [e.turn_id for e in published if isinstance(e, TurnStarted)] == [first.id, second.id]


def test_end_open_turns_ends_what_stop_left_behind(controller, published):
    turns = [controller.begin("text") for _ in range(3)]
    controller.end(turns[0], "interrupted")
    assert controller.end_open_turns() == 2
    assert all(t.cancelled for t in turns)
    assert sorted(e.turn_id for e in published if isinstance(e, TurnEnded)) == [t.id for t in turns]
    assert controller.snapshot().open_turns == 0


def test_status_follows_the_turn_and_speaking_agrees(controller, published):
    turn = controller.begin("text")
    assert controller.status is Status.THINKING
    controller.speaking(turn)
    controller.set_paused(True)           # the answer still plays: Speaking, and paused is shown too
    snap = controller.snapshot()
    assert (snap.status, snap.speaking, snap.paused, snap.active_turn) == (Status.SPEAKING, True, True, turn.id)
    controller.end(turn, "done")
    assert controller.status is Status.PAUSED and not controller.is_speaking
    controller.set_paused(False)
    assert controller.status is Status.LISTENING
    for event in published:
        if isinstance(event, StatusChanged):
            assert event.speaking == (event.status is Status.SPEAKING), event
    assert statuses(published)[-5:] == [Status.THINKING, Status.SPEAKING, Status.SPEAKING,   # paused shown
                                        Status.PAUSED, Status.LISTENING]


def test_status_order_loading_idle_error_hearing(published):
    ctl = TurnController(published.append, listening=False)
    ctl.set_loading("loading models")
    assert ctl.status is Status.LOADING and ctl.snapshot().detail == "loading models"
    ctl.set_loading("")
    assert ctl.status is Status.IDLE
    ctl.set_listening(True)
    ctl.set_running(True)
    assert ctl.status is Status.LISTENING
    ctl.set_hearing(True)
    assert ctl.status is Status.HEARING
    ctl.set_device_error("output device gone")
    assert ctl.status is Status.ERROR
    turn = ctl.begin("text")              # a typed question still runs: Thinking, then Error again
    assert ctl.status is Status.THINKING
    ctl.end(turn, "done")
    assert ctl.status is Status.ERROR
    ctl.set_device_error("")
    assert ctl.status is Status.LISTENING


def test_a_status_is_published_only_when_it_changes(controller, published):
    before = len(statuses(published))
    controller.set_hearing(False)
    controller.set_paused(False)
    controller.interrupt()
    assert len(statuses(published)) == before


def test_concurrent_begins_leave_one_live_turn_and_every_other_cancelled(controller):
    turns, lock = [], threading.Lock()

    def ask():
        for _ in range(200):
            turn = controller.begin("text")
            with lock:
                turns.append(turn)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live = [t for t in turns if not t.cancelled]
    assert len(live) == 1 and controller.is_current(live[0])
    assert len({t.id for t in turns}) == len(turns) == 800
