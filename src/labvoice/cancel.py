"""Cancel tokens: every long loop (STT segments, LLM tokens, TTS chunks) checks one."""
from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised by `CancelToken.raise_if_cancelled()`; stages catch it and end the turn quietly."""


class CancelToken:
    """A one-way flag shared by the stages working on one turn."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "interrupted") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled(self.reason)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


NEVER = CancelToken()  # a token nobody cancels, for one-shot calls
