"""The turn controller: the one owner of the current turn, its cancel token and the assistant's
status. Every loop that starts, stops or speaks a turn goes through it, never through another
object's fields.

How a loop uses it:

    turn = controller.begin("voice")        # a new turn; whatever ran before is cancelled, in any status
    ...                                     # long work checks `turn.cancelled` (stale or interrupted: one check)
    if controller.speaking(turn):           # atomically: still current -> "speaking" on, status Speaking
        play(...)                           # False: the turn was cut meanwhile, play nothing
    controller.end(turn, "done")            # TurnEnded is published once per turn; later calls do nothing
    controller.interrupt("barge-in")        # cancel the current turn now (the stop button, barge-in)

    controller.is_current(turn)             # the newest turn and not cancelled
    controller.set_paused(True)             # likewise set_hearing, set_device_error, set_loading, set_running
    controller.snapshot()                   # status, speaking, paused, current turn: read together

Each new turn gets a fresh `CancelToken`; `begin()` and `interrupt()` always cancel the token of the
turn before, so a superseded turn stops (LLM, TTS, waits) instead of running on unseen. Turn ids
only grow: `interrupt()` also takes an id that no turn owns, so audio of the interrupted turn is
refused by a speaker set to it (`on_cut`).

Status is derived in one place from the flags, under one lock, and published (as `StatusChanged`,
which carries `speaking` and `paused` too) only when it changes:

    Loading > Idle (not running) > Speaking > Thinking > Error (device) > Paused > Hearing you > Listening
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from labvoice.cancel import CancelToken
from labvoice.events import Event, Interrupted, Status, StatusChanged, TurnEnded, TurnStarted


@dataclass(frozen=True, eq=False)
class Turn:
    """One question and its answer. `cancel` is cancelled when the turn is interrupted or superseded."""

    id: int
    source: str            # text | voice
    cancel: CancelToken

    @property
    def cancelled(self) -> bool:
        """Stale or interrupted: the turn must stop and play nothing more."""
        return self.cancel.cancelled


@dataclass(frozen=True)
class Snapshot:
    status: Status
    detail: str
    speaking: bool
    paused: bool
    turn_id: int            # the newest turn id (or interrupt id)
    open_turns: int         # begun and not yet ended
    active_turn: int | None  # the turn being answered (current, not cancelled, not ended), if any


def _no_cut(turn_id: int, flush: bool) -> None:
    pass


class TurnController:
    """Thread-safe; every method may be called from any thread and never blocks for long.

    `publish` receives StatusChanged, TurnStarted, Interrupted and TurnEnded, in the order the
    changes happened (it is called under the controller's lock, so it must not call back in).
    `on_cut(turn_id, flush)` is called after a turn was cancelled: playback must refuse audio of
    turns below `turn_id`, and drop what it holds when `flush` (the cut turn had audio playing).
    """

    def __init__(self, publish: Callable[[Event], None], on_cut: Callable[[int, bool], None] = _no_cut,
                 listening: bool = True) -> None:
        self._publish = publish
        self._on_cut = on_cut
        self._lock = threading.RLock()
        self._last_id = 0
        self._current: Turn | None = None
        self._open: dict[int, Turn] = {}
        self._speaking = False
        self._speaking_since = 0.0   # monotonic time the current answer's audio started (barge-in ignores older sound)
        self._paused = False
        self._hearing = False
        self._running = False
        self._listening = listening
        self._loading = ""
        self._device_error = ""
        self._published: tuple[Status, str, bool, bool] | None = None

    # --- turns ---------------------------------------------------------------------------------
    def begin(self, source: str) -> Turn:
        """A new current turn with a fresh token; the previous turn is cancelled (reason "superseded")."""
        with self._lock:
            flush = self._cut("superseded")
            self._last_id += 1
            turn = Turn(self._last_id, source, CancelToken())
            self._current = turn
            self._open[turn.id] = turn
            self._hearing = False
            self._publish(TurnStarted(turn.id, source))
            self._update(turn.id)
        self._on_cut(turn.id, flush)
        return turn

    def interrupt(self, reason: str = "interrupted") -> int:
        """Cancel the current turn (harmless when nothing runs); returns the id playback now expects."""
        with self._lock:
            flush = self._cut(reason)
            self._last_id += 1
            new_id = self._last_id
            self._update(new_id)
        self._on_cut(new_id, flush)
        return new_id

    def _cut(self, reason: str) -> bool:
        """Cancel the current turn; True when its audio may be playing. Caller holds the lock."""
        turn, flush = self._current, self._speaking
        self._speaking = False
        if turn is not None and not turn.cancelled:
            turn.cancel.cancel(reason)
            if turn.id in self._open:
                self._publish(Interrupted(turn.id, reason))
        return flush

    def speaking(self, turn: Turn) -> bool:
        """The turn's first audio goes out: True (and status Speaking) only if it is still current
        and has not ended. An ended turn never speaks: when the output device fails, the thinker
        ends the turn without waiting for playback, and the Voice thread may reach its first chunk
        only afterwards; "speaking" then would stick (nothing ends the turn again), hiding every
        later status, e.g. Listening after `restart_audio()` (issue 22's flaky restart test)."""
        with self._lock:
            if not self.is_current(turn) or turn.id not in self._open:
                return False
            if not self._speaking:
                self._speaking = True
                self._speaking_since = time.monotonic()
                self._update(turn.id)
            return True

    def end(self, turn: Turn, reason: str) -> bool:
        """Publish the turn's TurnEnded (once: False if it had ended already)."""
        with self._lock:
            if self._open.pop(turn.id, None) is None:
                return False
            if turn is self._current:
                self._speaking = False
            self._update(turn.id)
            self._publish(TurnEnded(turn.id, reason))
            return True

    def end_open_turns(self, reason: str = "interrupted") -> int:
        """End every turn still open (after stop(): their jobs will never run). Returns how many."""
        with self._lock:
            turns = sorted(self._open.values(), key=lambda t: t.id)
            for turn in turns:
                turn.cancel.cancel(reason)
                self.end(turn, reason)
            return len(turns)

    def is_current(self, turn: Turn) -> bool:
        with self._lock:
            return turn is self._current and not turn.cancelled

    @property
    def current_id(self) -> int:
        return self._last_id

    @property
    def is_speaking(self) -> bool:
        return self._speaking

    @property
    def speaking_since(self) -> float:
        """When the current answer's audio started (monotonic; meaningful while `is_speaking`)."""
        return self._speaking_since

    @property
    def is_paused(self) -> bool:
        return self._paused

    # --- flags ---------------------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        self._set("_paused", paused)

    def set_hearing(self, hearing: bool) -> None:
        self._set("_hearing", hearing)

    def set_listening(self, listening: bool) -> None:
        """Whether a microphone is open (Listening) or not (Idle when nothing happens)."""
        self._set("_listening", listening)

    def set_running(self, running: bool) -> None:
        self._set("_running", running, "_loading", "")

    def set_loading(self, detail: str) -> None:
        """Models are loading ('' when done); shown as Loading with `detail`."""
        self._set("_loading", detail)

    def set_device_error(self, message: str) -> None:
        """An audio device failed ('' once it works again); shown as Error until then."""
        self._set("_device_error", message)

    def _set(self, *names_values) -> None:
        with self._lock:
            for name, value in zip(names_values[::2], names_values[1::2]):
                setattr(self, name, value)
            self._update(self._last_id)

    # --- status --------------------------------------------------------------------------------
    def _active(self) -> Turn | None:
        current = self._current
        return current if current is not None and not current.cancelled and current.id in self._open else None

    def _derive(self) -> tuple[Status, str]:
        active = self._active() is not None
        if self._loading:
            return Status.LOADING, self._loading
        if not self._running:
            return Status.IDLE, ""
        if self._speaking:
            return Status.SPEAKING, ""
        if active:
            return Status.THINKING, ""
        if self._device_error:
            return Status.ERROR, self._device_error
        if self._paused:
            return Status.PAUSED, ""
        if self._hearing:
            return Status.HEARING, ""
        return (Status.LISTENING if self._listening else Status.IDLE), ""

    def _update(self, turn_id: int) -> None:
        status, detail = self._derive()
        state = (status, detail, self._speaking, self._paused)
        if state != self._published:
            self._published = state
            self._publish(StatusChanged(turn_id, status, detail, speaking=self._speaking, paused=self._paused))

    @property
    def status(self) -> Status:
        with self._lock:
            return self._derive()[0]

    def snapshot(self) -> Snapshot:
        with self._lock:
            status, detail = self._derive()
            active = self._active()
            return Snapshot(status, detail, self._speaking, self._paused, self._last_id, len(self._open),
                            active.id if active is not None else None)
