"""Turn an exception into the one readable banner text a person can act on (never a traceback).

The project's own errors (bad config, missing DB or model, no audio device, stale index) already
carry a message that names the fix; they are shown as they are, trimmed to a few lines. Anything
else is a bug: the banner says what happened in one line and that the details are in the log.
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

MAX_LINES = 6          # an audio-device error lists every device; keep the banner short
MAX_CHARS = 600


# (module, class) of the errors whose message is meant for the person at the keyboard. Looked up
# in sys.modules rather than imported: an instance of a class means its module is loaded, and
# importing e.g. the index module (faiss) just to classify an error would stall the Tk thread.
USER_ERRORS = (
    ("labvoice.config", "ConfigError"), ("labvoice.knowledge.store", "StoreError"),
    ("labvoice.models", "ModelMissing"), ("labvoice.backends", "BackendUnavailable"),
    ("labvoice.llm.base", "LlmError"), ("labvoice.audio.devices", "AudioDeviceError"),
    ("labvoice.audio.wavio", "AudioFileError"), ("labvoice.knowledge.index", "IndexUnavailable"),
    ("labvoice.knowledge.embedder", "EmbedderError"), ("labvoice.knowledge.rebuild", "IndexBuildError"),
)


def user_error_types() -> tuple[type[BaseException], ...]:
    return tuple(getattr(sys.modules[module], name) for module, name in USER_ERRORS
                 if module in sys.modules and hasattr(sys.modules[module], name))


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
    if isinstance(err, OSError):
        where = f"{err.strerror}: {err.filename}" if err.filename and err.strerror else str(err)
        return trim(f"{where}; check the path in Settings")
    log.error("unexpected error in the window", exc_info=(type(err), err, err.__traceback__))
    return trim(f"Unexpected {type(err).__name__}: {err}. The details are in the log; "
                "please report it with the log file.")
