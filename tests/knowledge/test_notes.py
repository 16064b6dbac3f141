"""The publish flag goes on and comes off a note without losing the user's words."""
from __future__ import annotations

import pytest

from labvoice.knowledge.notes import PUBLISH, flag_note, is_flagged, unflag_note


@pytest.mark.parametrize("note, flagged", [
    ("", "PUBLISH"),
    (None, "PUBLISH"),
    ("diverged after epoch 4", "PUBLISH; diverged after epoch 4"),
    ("PUBLISH", "PUBLISH"),
    ("PUBLISH - camera ready", "PUBLISH - camera ready"),
    ("publish only after the rerun", "PUBLISH; publish only after the rerun"),   # lower case: the user's words
    ("PUBLISHED elsewhere", "PUBLISH; PUBLISHED elsewhere"),
])
def test_flag_adds_the_flag_once_in_front(note, flagged):
    assert flag_note(note) == flagged
    assert is_flagged(flag_note(note))
    assert flag_note(flag_note(note)) == flag_note(note)


@pytest.mark.parametrize("note, unflagged", [
    ("PUBLISH; diverged after epoch 4", "diverged after epoch 4"),
    ("PUBLISH", ""),
    ("PUBLISH - camera ready", "camera ready"),
    ("best on digits; PUBLISH", "best on digits"),
    ("diverged after epoch 4", "diverged after epoch 4"),
    ("publish only after the rerun", "publish only after the rerun"),
])
def test_unflag_removes_only_the_flag(note, unflagged):
    assert unflag_note(note) == unflagged
    assert not is_flagged(unflag_note(note))


def test_a_round_trip_gives_back_the_note():
    for note in ("diverged after epoch 4", "", "lr too high; rerun with 1e-3"):
        assert unflag_note(flag_note(note)) == note
    assert PUBLISH == "PUBLISH"
