"""Turn an exception into the one readable banner text a person can act on (never a traceback).

The project's own errors (bad config, missing DB or model, no audio device, stale index) already
carry a message that names the fix; they are shown as they are, trimmed to a few lines. Anything
else is a bug: the banner says what happened in one line and that the details are in the log.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

MAX_LINES = 6          # an audio-device error lists every device; keep the banner short
MAX_CHARS = 600


def user_error_types() -> tuple[type[BaseException], ...]:
    """The errors whose message is meant for the person at the keyboard."""
    from labvoice.audio.devices import AudioDeviceError
    from labvoice.audio.wavio import AudioFileError
    from labvoice.backends import BackendUnavailable
    from labvoice.config import ConfigError
    from labvoice.knowledge.embedder import EmbedderError
    from labvoice.knowledge.index import IndexUnavailable
    from labvoice.knowledge.store import StoreError
    from labvoice.llm.base import LlmError
    from labvoice.models import ModelMissing

    return (ConfigError, StoreError, ModelMissing, BackendUnavailable, LlmError, AudioDeviceError,
            AudioFileError, IndexUnavailable, EmbedderError)


def trim(message: str) -> str:
    lines = [line.rstrip() for line in str(message).strip().splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES - 1] + [f"  ... and {len(lines) - MAX_LINES + 1} more"]
    text = "\n".join(lines)
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def describe(err: BaseException) -> str:
    """The banner text for an exception raised by background work."""
    if isinstance(err, user_error_types()):
        return trim(str(err))
    if isinstance(err, (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError)):
        return trim(f"{err.strerror or err}: {err.filename}; check the path in Settings")
    log.error("unexpected error in the window", exc_info=(type(err), err, err.__traceback__))
    return trim(f"Unexpected {type(err).__name__}: {err}. The details are in the log; "
                "please report it with the log file.")
