"""Run notes are the user's words: the publish flag is added to and removed from a note without losing
what the note said ("diverged after epoch 4" -> "PUBLISH; diverged after epoch 4" -> "diverged after
epoch 4").

`PUBLISH` is the one flag constant (DESIGN.md: "`PUBLISH` flags a run"); the voice path and the
window's runs panel both go through `ManifestStore.flag_for_publishing` / `unflag`, which apply these
functions in one write transaction.
"""
from __future__ import annotations

import re

PUBLISH = "PUBLISH"
FLAG_SEPARATOR = "; "
# The flag as a whole upper-case word, with the separator that joined it to the rest of the note.
_FLAG_AT_START = re.compile(rf"^\s*{PUBLISH}(?![A-Za-z0-9_])\s*[;:,\-\u2013\u2014]?\s*")
_FLAG_ELSEWHERE = re.compile(rf"\s*[;:,\-\u2013\u2014]?\s*(?<![A-Za-z0-9_]){PUBLISH}(?![A-Za-z0-9_])")

# Action kinds a fact may carry for the answerer to perform (a confirmed write).
FLAG_ACTION = "flag"
UNFLAG_ACTION = "unflag"


def is_flagged(note: str | None) -> bool:
    """Whether the note carries the publish flag (the upper-case word PUBLISH anywhere in it)."""
    return bool(note) and bool(re.search(rf"(?<![A-Za-z0-9_]){PUBLISH}(?![A-Za-z0-9_])", note))


def flag_note(note: str | None) -> str:
    """The note with the flag in front; unchanged when it is flagged already."""
    note = note or ""
    if is_flagged(note):
        return note
    return f"{PUBLISH}{FLAG_SEPARATOR}{note.strip()}" if note.strip() else PUBLISH


def unflag_note(note: str | None) -> str:
    """The note without the flag (and the separator that joined it); the user's words stay as written."""
    note = note or ""
    if not is_flagged(note):
        return note
    rest = _FLAG_AT_START.sub("", note, count=1)
    if is_flagged(rest) or rest == note:
        rest = _FLAG_ELSEWHERE.sub("", rest)
    return rest.strip()
