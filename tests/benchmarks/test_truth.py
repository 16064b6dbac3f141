"""The benchmark's own truth (labvoice/benchmarks/truth.py): the true end of speech of a WAV it made,
the VAD's lag behind it, and what counts as answered right."""
from __future__ import annotations

import numpy as np
import pytest

from labvoice.benchmarks.truth import (answered_right, expected_run_ids, true_speech_end_s,
                                       vad_end_after_true_end_ms)

RATE = 16000


def _speech(before_s: float, speech_s: float, after_s: float) -> np.ndarray:
    t = np.arange(int(RATE * speech_s)) / RATE
    voice = (0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.concatenate([np.zeros(int(RATE * before_s), np.float32), voice, np.zeros(int(RATE * after_s), np.float32)])


def test_the_true_end_is_the_last_audible_sample_not_the_padding():
    audio = _speech(0.6, 1.5, 1.2)
    assert true_speech_end_s(audio, RATE) == pytest.approx(0.6 + 1.5, abs=0.002)   # not 3.3 s, the file's end
    faded = audio.copy()
    faded[int(RATE * 1.9):] *= 0.005                                                 # below 1 % of the peak
    assert true_speech_end_s(faded, RATE) == pytest.approx(1.9, abs=0.002)


def test_the_vads_lag_is_measured_from_the_true_end():
    audio = _speech(0.5, 1.0, 1.0)
    end = true_speech_end_s(audio, RATE)
    assert vad_end_after_true_end_ms(audio, RATE, end + 0.051) == pytest.approx(51.0, abs=0.1)
    assert vad_end_after_true_end_ms(audio, RATE, end) == 0.0


def test_silence_has_no_end_of_speech():
    with pytest.raises(ValueError, match="silent"):
        true_speech_end_s(np.zeros(RATE, np.float32), RATE)


class _Retrieval:
    def __init__(self, run_ids):
        self.used_run_ids = run_ids


def test_answered_right_means_the_runs_the_typed_question_gets():
    typed = {"best on wine": ("a1b2c3d4",), "hello": ()}
    expected = expected_run_ids(lambda q: _Retrieval(typed[q]), ["best on wine", "hello", "best on wine"])
    assert expected == typed
    assert answered_right(expected["best on wine"], ("a1b2c3d4",))
    assert not answered_right(expected["best on wine"], ("ffff0000",))     # misheard: another run
    assert not answered_right(expected["best on wine"], ())                 # answered nothing
    assert answered_right(expected["hello"], ())
