"""What the soak sees of each turn, from the orchestrator's public event stream only.

`TurnTracker` consumes one subscriber queue on its own thread (so the bus never fills up) and
keeps, per turn id: how it ended, when it started speaking, when it was interrupted, its
first-audio latency, its errors, and any audio chunk reported played after its interrupt
(stale audio, which must never happen).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from labvoice.events import (ChunkPlayed, ErrorEvent, Event, Interrupted, Latency, Status, StatusChanged,
                             Transcript, TurnEnded)

POLL_S = 0.05


@dataclass
class TurnLog:
    turn_id: int
    source: str = ""                     # text | voice (from its Transcript)
    transcript: str = ""
    speaking_at: float | None = None     # monotonic: StatusChanged(SPEAKING)
    interrupted_at: float | None = None  # monotonic: its Interrupted event
    interrupt_reason: str = ""
    first_audio_ms: float | None = None  # from its Latency event
    ended: str | None = None             # TurnEnded reason
    ended_at: float | None = None
    errors: list[str] = field(default_factory=list)
    stale_chunks: int = 0                # ChunkPlayed after its Interrupted


class EventFollower:
    """Consumes one subscriber queue on its own thread (so the bus never backs up), handing each
    event to `_record` under a condition that `wait_for` waits on."""

    thread_name = "event-follower"

    def __init__(self, events: "queue.Queue[Event]") -> None:
        self._events = events
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=POLL_S)
            except queue.Empty:
                continue
            with self._cond:
                self._record(event)
                self._cond.notify_all()

    @property
    def lock(self) -> threading.Condition:
        """Hold it to read what `_record` writes."""
        return self._cond

    def _record(self, event: Event) -> None:
        raise NotImplementedError

    def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, POLL_S * 4))
            return True


class TurnTracker(EventFollower):
    thread_name = "soak-tracker"

    def __init__(self, events: "queue.Queue[Event]") -> None:
        super().__init__(events)
        self.turns: dict[int, TurnLog] = {}
        self.ended_order: list[int] = []

    def _turn(self, turn_id: int) -> TurnLog:
        log = self.turns.get(turn_id)
        if log is None:
            log = self.turns[turn_id] = TurnLog(turn_id)
        return log

    def _record(self, event: Event) -> None:
        if isinstance(event, StatusChanged):
            if event.status is Status.SPEAKING:
                self._turn(event.turn_id).speaking_at = event.t
        elif isinstance(event, Transcript):
            log = self._turn(event.turn_id)
            log.source, log.transcript = event.source, event.text
        elif isinstance(event, Interrupted):
            log = self._turn(event.turn_id)
            if log.interrupted_at is None:
                log.interrupted_at, log.interrupt_reason = event.t, event.reason
        elif isinstance(event, ChunkPlayed):
            log = self._turn(event.turn_id)
            if log.interrupted_at is not None and event.t > log.interrupted_at:
                log.stale_chunks += 1
        elif isinstance(event, Latency):
            self._turn(event.turn_id).first_audio_ms = event.stages_ms.get("first_audio")
        elif isinstance(event, ErrorEvent):
            self._turn(event.turn_id).errors.append(f"{event.stage}: {event.message}")
        elif isinstance(event, TurnEnded):
            log = self._turn(event.turn_id)
            log.ended, log.ended_at = event.reason, event.t
            self.ended_order.append(event.turn_id)

    def wait_ended(self, turn_id: int, timeout: float) -> TurnLog | None:
        done = self.wait_for(lambda: self.turns.get(turn_id) is not None and self.turns[turn_id].ended is not None,
                             timeout)
        return self.turns[turn_id] if done else None

    def wait_speaking(self, turn_id: int, timeout: float) -> bool:
        return self.wait_for(lambda: turn_id in self.turns and (self.turns[turn_id].speaking_at is not None
                                                                or self.turns[turn_id].ended is not None), timeout) \
            and self.turns[turn_id].ended is None

    def wait_new_turn_ended(self, after: int, timeout: float) -> TurnLog | None:
        """The first turn with an id above `after` to end (a spoken question begins its own turn)."""
        found: list[int] = []

        def ended() -> bool:
            found[:] = [t for t in self.ended_order if t > after]
            return bool(found)

        return self.turns[found[0]] if self.wait_for(ended, timeout) else None

    def ended_count(self) -> int:
        with self._cond:
            return len(self.ended_order)
