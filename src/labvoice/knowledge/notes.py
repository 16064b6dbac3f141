"""Run notes are the user's words: the publish flag is a separate marker put in front of a note and
taken off again, so flagging and unflagging are exact inverses on any note, whatever it says.

The format (readable by any tool of the documented schema: the note stays plain text and `PUBLISH`
is a token of its own, as DESIGN.md says: "`PUBLISH` flags a run"):

- flagging a note that is not flagged writes the marker, the separator `"; "` and the note byte for
  byte: `"diverged after epoch 4"` -> `"PUBLISH; diverged after epoch 4"`, `""` -> `"PUBLISH; "`;
  a NULL note (no note at all) becomes the bare marker `"PUBLISH"`;
- unflagging takes exactly that off again (`"PUBLISH; "` -> `""`, `"PUBLISH"` -> NULL), so
  `unflag_note(flag_note(x)) == x` for every note x, NULL included;
- a note some other tool flagged with another separator (`"PUBLISH - camera ready"`) loses the
  marker and that separator (`"camera ready"`).

What "is flagged" means: the note *starts* with the word `PUBLISH` (upper case, leading white space
allowed, not followed by a letter, digit or underscore). Only the leading marker counts, so the
user's own words never flag a run: "DO NOT PUBLISH yet: waiting on the ablation", "publish after the
rerun", "PUBLISHED elsewhere" and "best on digits; PUBLISH later?" are not flags, and flagging them
puts the marker in front of the words, which stay exactly as written.

`ManifestStore.flag_for_publishing` / `unflag` (the window's runs panel) and the voice path both
apply these functions through the write journal (journal.py): one transaction per change, recorded.
"""
from __future__ import annotations

import re

PUBLISH = "PUBLISH"
FLAG_SEPARATOR = "; "
FLAG_PREFIX = PUBLISH + FLAG_SEPARATOR
# The leading marker, with whatever separator another tool may have put after it.
_LEADING_FLAG = re.compile(rf"^\s*{PUBLISH}(?![A-Za-z0-9_])")
_FOREIGN_FLAG = re.compile(rf"^\s*{PUBLISH}(?![A-Za-z0-9_])[ \t]*[;:,\-\u2013\u2014]?[ \t]*")

# Action kinds a fact may carry for the answerer to perform (a write).
FLAG_ACTION = "flag"
UNFLAG_ACTION = "unflag"


def is_flagged(note: str | None) -> bool:
    """Whether the note starts with the publish marker (see the module docstring)."""
    return bool(note) and _LEADING_FLAG.match(note) is not None


def flag_note(note: str | None) -> str:
    """The note with the marker in front, the rest byte for byte; unchanged when flagged already."""
    if note is None:
        return PUBLISH
    if is_flagged(note):
        return note
    return FLAG_PREFIX + note


def unflag_note(note: str | None) -> str | None:
    """The note without the leading marker (and its separator); the user's words stay as written.
    Exactly undoes `flag_note`; a note that is not flagged (NULL included) comes back unchanged."""
    if note is None or not is_flagged(note):
        return note
    if note.startswith(FLAG_PREFIX):
        return note[len(FLAG_PREFIX):]
    if note.strip() == PUBLISH:
        return None
    return _FOREIGN_FLAG.sub("", note, count=1)


def change_for(action: str):
    """The note change an action kind names (FLAG_ACTION / UNFLAG_ACTION); KeyError for any other."""
    return {FLAG_ACTION: flag_note, UNFLAG_ACTION: unflag_note}[action]
