"""Background work for the window, so the Tk main thread never waits.

A `Worker` is one daemon thread that runs submitted jobs in order (model loading, an index rebuild,
a device check, orchestrator calls that may touch the audio device). A job's outcome, its return
value or the exception it raised, travels back through one shared `outbox` queue as an `Outcome`;
the window drains that queue from an `after()` callback and runs the outcome's callback in the Tk
thread. Tk objects are only ever touched from the Tk thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Outcome:
    """Something for the Tk thread to do: `callback(value)`."""

    callback: Callback | None
    value: Any


def post(outbox: "queue.SimpleQueue[Outcome]", callback: Callback, value: Any = None) -> None:
    """From any thread: ask the Tk thread to run `callback(value)` on its next poll."""
    outbox.put(Outcome(callback, value))


def run_outcomes(outbox: "queue.SimpleQueue[Outcome]", limit: int) -> int:
    """In the Tk thread: run up to `limit` waiting outcomes; returns how many ran."""
    ran = 0
    while ran < limit:
        try:
            outcome = outbox.get_nowait()
        except queue.Empty:
            break
        ran += 1
        if outcome.callback is not None:
            outcome.callback(outcome.value)
    return ran


@dataclass(frozen=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple
    on_done: Callback | None
    on_error: Callback | None


class Worker:
    """One thread, jobs in submission order; results and errors go to `outbox`."""

    def __init__(self, name: str, outbox: "queue.SimpleQueue[Outcome]", on_error: Callback) -> None:
        self.name = name
        self._outbox = outbox
        self._on_error = on_error
        self._jobs: "queue.SimpleQueue[_Job | None]" = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a job runs or waits."""
        with self._lock:
            return self._pending > 0

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callback | None = None,
               on_error: Callback | None = None) -> None:
        with self._lock:
            self._pending += 1
        self._jobs.put(_Job(fn, args, on_done, on_error))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                value = job.fn(*job.args)
            except Exception as err:  # reported to the window as a banner, never a traceback
                log.warning("%s: %s failed: %s", self.name, getattr(job.fn, "__name__", job.fn), err,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                post(self._outbox, job.on_error or self._on_error, err)
            else:
                if job.on_done is not None:
                    post(self._outbox, job.on_done, value)
            finally:
                with self._lock:
                    self._pending -= 1

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Finish the queued jobs, then end the thread; False if it is still busy after `timeout`."""
        self._jobs.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()
