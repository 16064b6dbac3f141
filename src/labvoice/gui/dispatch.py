"""Reading the orchestrator's event queue for the window: a bounded batch per poll, with the
events that only matter in their latest form (the mic level, the whole-text answer deltas)
coalesced, and each event tagged with which assistant run it came from.

Turn ids start again at 1 each time the window creates a new orchestrator (Start after a settings
change, a device fallback), so the window keys its turns by (run number, turn id); a new queue
object means a new run.
"""
from __future__ import annotations

import queue
from dataclasses import dataclass

from labvoice.events import AnswerDelta, Event, MicLevel


@dataclass
class EventReader:
    """Drains at most `limit` events per call from the current queue."""

    limit: int
    run_number: int = 0
    _queue: "queue.Queue | None" = None

    def read(self, events: "queue.Queue[Event] | None") -> list[Event]:
        """Everything waiting (up to `limit`), oldest first, superseded levels and deltas left out."""
        if events is None:
            return []
        if events is not self._queue:
            self._queue, self.run_number = events, self.run_number + 1
        batch = []
        for _ in range(self.limit):
            try:
                batch.append(events.get_nowait())
            except queue.Empty:
                break
        return coalesce(batch)

    def key(self, event: Event) -> tuple[int, int]:
        return (self.run_number, event.turn_id)


def coalesce(batch: list[Event]) -> list[Event]:
    """Drop mic levels and answer deltas that a later one in the same batch replaces (a delta holds
    the whole answer so far, a level is only worth showing when it is the newest)."""
    last_delta = {e.turn_id: i for i, e in enumerate(batch) if isinstance(e, AnswerDelta)}
    last_level = max((i for i, e in enumerate(batch) if isinstance(e, MicLevel)), default=-1)
    return [e for i, e in enumerate(batch)
            if not (isinstance(e, AnswerDelta) and last_delta[e.turn_id] != i)
            and not (isinstance(e, MicLevel) and i != last_level)]
