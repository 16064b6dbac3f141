"""The publish flag is a leading marker: flagging and unflagging are exact inverses on any note, byte for
byte, and the user's own words ("DO NOT PUBLISH yet") never count as the flag."""
from __future__ import annotations

import pytest

from labvoice.knowledge.notes import FLAG_PREFIX, PUBLISH, flag_note, is_flagged, unflag_note

# Notes as people and other tools leave them, none of them flagged.
UNFLAGGED_NOTES = [
    None,
    "",
    " ",
    "diverged after epoch 4",
    "DO NOT PUBLISH yet: waiting on the ablation",
    "do not publish",
    "publish only after the rerun",
    "PUBLISHED elsewhere (workshop)",
    "best on digits; PUBLISH later?",
    "not for PUBLISH",
    "PUBLISHING blocked by legal",
    "_PUBLISH",
    "line one\nline two\n\nPUBLISH on line four",
    "trailing spaces   ",
    "\tleading tab",
    "\r\nwindows line end\r\n",
    "lr=3e-4; bs=64; seed=1",
    "; starts with the separator",
    "unicode: 精度が良い \u2014 ünïcödé \U0001F680",
    "emoji only \U0001F44D",
    "x" * 5000,
    '{"json": "in a note", "publish": true}',
    "publish",
    "Publish",
    "rerun -- PUBLISH? maybe",
]
FLAGGED_NOTES = ["PUBLISH", "PUBLISH; camera ready", "PUBLISH - camera ready", "  PUBLISH: final", "PUBLISH;"]


@pytest.mark.parametrize("note", UNFLAGGED_NOTES)
def test_flag_then_unflag_gives_the_note_back_byte_for_byte(note):
    assert not is_flagged(note)
    flagged = flag_note(note)
    assert is_flagged(flagged)
    assert flag_note(flagged) == flagged                 # flagging twice flags once
    back = unflag_note(flagged)
    assert back == note and type(back) is type(note)     # NULL stays NULL, "" stays ""
    if note is not None:
        assert flagged.encode("utf-8") == FLAG_PREFIX.encode("utf-8") + note.encode("utf-8")


def test_there_are_at_least_twenty_kinds_of_note():
    assert len(set(UNFLAGGED_NOTES)) >= 20


@pytest.mark.parametrize("note", FLAGGED_NOTES)
def test_the_leading_marker_is_the_flag(note):
    assert is_flagged(note)
    assert not is_flagged(unflag_note(note))
    assert unflag_note(unflag_note(note)) == unflag_note(note)   # unflagging an unflagged note changes nothing


def test_a_negated_publish_is_not_a_flag():
    note = "DO NOT PUBLISH yet: waiting on the ablation"
    assert not is_flagged(note)
    assert flag_note(note) == "PUBLISH; DO NOT PUBLISH yet: waiting on the ablation"
    assert unflag_note(note) == note


@pytest.mark.parametrize("note, unflagged", [
    ("PUBLISH; diverged after epoch 4", "diverged after epoch 4"),
    ("PUBLISH", None),
    ("PUBLISH; ", ""),
    ("PUBLISH - camera ready", "camera ready"),
    ("PUBLISH: final", "final"),
    ("PUBLISH;  two spaces kept", " two spaces kept"),
])
def test_unflag_removes_only_the_marker_and_its_separator(note, unflagged):
    assert unflag_note(note) == unflagged
    assert PUBLISH == "PUBLISH"
