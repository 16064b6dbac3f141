"""Errors a person can fix carry a code, so the window acts on the code, never on the message text
(Home Assistant's `PipelineError(code, message)` is the model).

`LabvoiceError(code, message)` is the base of the project's own errors; each module keeps its
class (and its builtin base, which callers catch), and a class with one kind of problem fixes its
code (`WriteError` keeps its own codes, which say why a write was refused). The message stays one readable line that names the fix for a terminal; the code picks the
window's button (gui/errors.py `fix_for`).
"""
from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "config",               # a setting is wrong                       -> Settings
    "db_missing",           # no run DB at the configured path         -> choose a run DB, or import one
    "db_unusable",          # the file is not a usable run DB          -> choose a run DB
    "index_missing",        # no knowledge index yet                   -> build the index
    "index_stale",          # the index is corrupt, stale or mismatched -> rebuild the index
    "knowledge_folder",     # the knowledge folder is missing          -> Settings
    "index_path",           # the index path is not a folder           -> Settings
    "model_missing",        # a model file is not installed            -> the install command
    "backend_unavailable",  # an optional runtime is not installed     -> the install command
    "embedder",             # the embedding model cannot be used       -> the install command
    "audio_device",         # a microphone or speaker cannot be used   -> reopen audio / Settings
    "audio_file",           # an audio file cannot be read             -> none (the message says why)
    "llm",                  # the chat model failed                    -> none (the message says why)
]


class LabvoiceError(Exception):
    """A problem a person can fix: `code` says which kind (for the window), `message` how (for a person)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def code_of(err: BaseException) -> str:
    """An error's code, or "" for one that is not the project's (a bug, or a library's)."""
    return err.code if isinstance(err, LabvoiceError) else ""
