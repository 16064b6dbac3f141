"""Typed events the orchestrator publishes and the GUI, CLI and logs consume.

Every event carries the turn id it belongs to. `droppable` events (mic levels, partial answer
text, audio progress) may be lost when a subscriber falls behind; the others (status, turn start
and end, answers, latencies, errors) always reach every subscriber.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    IDLE = "Idle"
    LOADING = "Loading"
    LISTENING = "Listening"
    HEARING = "Hearing you"
    THINKING = "Thinking"
    SPEAKING = "Speaking"
    PAUSED = "Paused"
    ERROR = "Error"


@dataclass(frozen=True)
class Event:
    turn_id: int
    t: float = field(default_factory=time.monotonic, kw_only=True)
    droppable = False


@dataclass(frozen=True)
class StatusChanged(Event):
    status: Status
    detail: str = ""
    speaking: bool = False   # the current turn's audio is queued or playing
    paused: bool = False     # the microphone is paused (the status may still say Thinking/Speaking)


@dataclass(frozen=True)
class TurnStarted(Event):
    source: str = "text"     # text | voice


@dataclass(frozen=True)
class MicLevel(Event):
    rms: float          # 0..1
    speech_prob: float  # last VAD probability
    droppable = True


@dataclass(frozen=True)
class SpeechStarted(Event):
    pass


@dataclass(frozen=True)
class UtteranceEnded(Event):
    duration_s: float
    cut_at_max: bool = False


@dataclass(frozen=True)
class Transcript(Event):
    text: str
    final: bool = True
    source: str = "voice"   # voice | text


@dataclass(frozen=True)
class AnswerDelta(Event):
    """The answer text so far (whole text, so a late subscriber never shows a fragment)."""

    text: str
    droppable = True


@dataclass(frozen=True)
class AnswerDone(Event):
    text: str                    # what the assistant said (only the played part if interrupted)
    used_run_ids: tuple[str, ...]
    facts: tuple[dict, ...]
    interrupted: bool
    fallback: bool               # the guard replaced the LLM text with the templated answer
    display: str = ""            # the same answer with full run ids and exact values (the window shows both)
    query: dict | None = None    # the query that was executed, as JSON data
    rows: tuple[dict, ...] = ()  # the result's typed rows as data (the window charts groups and statistics)
    sources: tuple[dict, ...] = ()   # document answers: file, heading, sentences used, passage


@dataclass(frozen=True)
class Latency(Event):
    """Per-stage latency of a turn, milliseconds, measured from end of speech (or text submit)."""

    stages_ms: dict[str, float]


@dataclass(frozen=True)
class ChunkPlayed(Event):
    index: int
    text: str
    droppable = True


@dataclass(frozen=True)
class Interrupted(Event):
    reason: str


@dataclass(frozen=True)
class OutputHeld(Event):
    """The answer's audio was paused on a first hint of the person talking over it (`held`; the
    barge-in is not confirmed yet), or that pause ended (`held=False`): an `Interrupted` came, or
    the hint was a blip and the answer goes on."""

    held: bool = True


@dataclass(frozen=True)
class ErrorEvent(Event):
    stage: str
    message: str          # one readable line with the fix
    recoverable: bool = True
    code: str = ""        # the error's code (labvoice/errors.py) when it had one: the window acts on it


@dataclass(frozen=True)
class Progress(Event):
    task: str
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class TurnEnded(Event):
    reason: str = "done"   # done | interrupted | empty | error


class Subscription(queue.Queue):
    """One subscriber's queue. Past `limit` events it sheds droppable ones (the oldest first, or
    the newcomer when none is waiting); an event that is not droppable is always kept."""

    def __init__(self, limit: int) -> None:
        super().__init__()   # unbounded: only offer() applies the limit
        self.limit = limit
        self.dropped = 0

    def offer(self, event: Event) -> None:
        with self.not_empty:
            if len(self.queue) >= self.limit:
                victim = next((i for i, e in enumerate(self.queue) if e.droppable), None)
                if victim is not None:
                    del self.queue[victim]
                    self.unfinished_tasks -= 1
                    self.dropped += 1
                elif event.droppable:
                    self.dropped += 1
                    return
            self.queue.append(event)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class EventBus:
    """Fan-out of events to subscribers, each with its own queue. Publishing never blocks; a
    subscriber that falls behind loses only droppable events (see `Subscription`)."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._maxsize = maxsize

    def subscribe(self) -> "queue.Queue[Event]":
        q = Subscription(self._maxsize)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: "queue.Queue[Event]") -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            q.offer(event)


def drain(q: "queue.Queue[Event]", timeout: float = 0.0) -> list[Event]:
    """Everything waiting in a subscriber queue (waits up to `timeout` for the first one)."""
    items: list[Any] = []
    try:
        items.append(q.get(timeout=timeout) if timeout else q.get_nowait())
    except queue.Empty:
        return items
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            return items
