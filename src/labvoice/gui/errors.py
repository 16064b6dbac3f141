"""Turn an exception into the one readable banner text a person can act on (never a traceback),
and its code into the banner's button.

The project's own errors (bad config, missing DB or model, no audio device, stale index) already
carry a message that names the fix; they are shown as they are, trimmed to a few lines. Anything
else is a bug: the banner says what happened in one line and that the details are in the log.
Which button the banner offers comes from the error's `code` (labvoice/errors.py), never from
its text: `fix_for(err)`.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Literal

from labvoice.errors import LabvoiceError
from labvoice.events import ErrorEvent

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


FixAction = Literal["rebuild_index", "choose_db", "copy_install", "open_settings", "reopen_audio"]


@dataclass(frozen=True)
class Fix:
    """The banner's button for an error: its text, what the window does, and for `copy_install`
    the command that is copied."""

    label: str
    action: FixAction
    command: str = ""


OPEN_SETTINGS = Fix("Open settings", "open_settings")
# error code -> the button; a code not here (llm, audio_file, a refused write) gets none.
FIXES: dict[str, Fix] = {
    "index_missing": Fix("Build the index", "rebuild_index"),
    "index_stale": Fix("Rebuild the index", "rebuild_index"),
    "db_missing": Fix("Choose a run DB", "choose_db"),
    "db_unusable": Fix("Choose a run DB", "choose_db"),
    "config": OPEN_SETTINGS,
    "knowledge_folder": OPEN_SETTINGS,
    "index_path": OPEN_SETTINGS,
    "audio_device": OPEN_SETTINGS,         # a device that cannot be opened: pick another
    "backend_unavailable": OPEN_SETTINGS,  # choose a backend that is installed
}
REOPEN_AUDIO = Fix("Reopen audio", "reopen_audio")


def fix_for(err: BaseException) -> Fix | None:
    """The button for an exception, by its code."""
    if not isinstance(err, LabvoiceError):
        return None
    if err.code == "model_missing":
        from labvoice.models import ModelMissing

        return Fix("Copy install command", "copy_install", err.install if isinstance(err, ModelMissing) else "")
    return FIXES.get(err.code)


def fix_for_event(event: ErrorEvent) -> Fix | None:
    """The button for a pipeline's error event: devices lost mid-session are reopened; otherwise by code."""
    if event.stage == "audio" and event.recoverable:
        return REOPEN_AUDIO
    return FIXES.get(event.code) if event.code else None
