"""The residual-echo meter: what the canceller left that still looks like our own playback (a
delayed copy of the reference) is echo; a person's voice is not, whoever is louder."""
from __future__ import annotations

import numpy as np

from labvoice.audio.echo import ECHO_SHARE_MAX, NearEndRun
from labvoice.audio.residual import ResidualEchoMeter
from labvoice.benchmarks.human_speech import librivox_clips

RATE = 16000
FRAME = 512
DELAY = int(0.06 * RATE)     # the test echo path's delay


def _shares(cleaned: np.ndarray, far: np.ndarray) -> list[float | None]:
    """Like the capture: each frame with the reference from far_start(frame end) on, `far_span` long."""
    meter = ResidualEchoMeter(RATE)
    shares = []
    for i in range(0, far.size - FRAME + 1, FRAME):
        start = round(meter.far_start((i + FRAME) / RATE) * RATE)
        window = np.zeros(meter.far_span, dtype=np.float32)
        lo, hi = max(start, 0), min(start + meter.far_span, far.size)
        window[lo - start:hi - start] = far[lo:hi]
        shares.append(meter.add(cleaned[i:i + FRAME], window))
    return shares


def _voices() -> tuple[np.ndarray, np.ndarray]:
    clips = librivox_clips()
    far = clips[-1].audio[:4 * RATE]                          # the "assistant"
    person = clips[0].audio[:far.size]                        # someone else
    return far, np.pad(person, (0, far.size - person.size))


def test_a_delayed_copy_of_the_reference_is_echo():
    far, _ = _voices()
    residue = np.zeros_like(far)
    residue[DELAY:] = 0.05 * far[:-DELAY]                     # what a canceller that lost the path leaves
    judged = [s for s in _shares(residue, far)[10:] if s is not None]
    assert len(judged) > 50
    assert np.median(judged) > 0.9 and min(judged) > ECHO_SHARE_MAX


def test_a_person_over_the_answer_is_not_echo():
    far, person = _voices()
    judged = [s for s in _shares(0.3 * person, far)[10:] if s is not None]
    assert len(judged) > 30
    assert np.percentile(judged, 90) < ECHO_SHARE_MAX / 2      # measured: p90 ~0.04


def test_echo_ahead_of_its_late_stamped_reference_is_echo():
    far, _ = _voices()
    residue = np.zeros_like(far)
    early = int(0.08 * RATE)                                  # the reference's stamps run 80 ms late
    residue[:-early] = 0.05 * far[early:]
    judged = [s for s in _shares(residue, far)[10:] if s is not None]
    assert np.median(judged) > 0.9


def test_nothing_to_judge_in_silence():
    far, person = _voices()
    assert set(_shares(np.zeros_like(far), far)) == {None}                    # nobody on the mic
    assert set(_shares(person, np.zeros_like(person))) == {None}              # nothing was playing


def test_near_end_run_breaks_on_echo_and_keeps_a_voice():
    run = NearEndRun()
    assert run.update(1.0, True, 0.02) == 1.0
    assert run.update(1.032, True, None) == 1.0                # nothing playing: a voice goes on
    assert run.update(1.064, True, 0.9) is None                # echo residue breaks the run
    assert run.update(1.096, True, 0.01) == 1.096
    assert run.update(1.128, False, 0.01) is None               # the VAD heard no speech
