"""The echo canceller offline: the far-end reference lines up by time, and WebRTC AEC3 removes a
reverberant, delayed echo of real speech while a second real voice talking over it survives.
(The same path on the virtual devices, through the app, is in tests/pipeline/test_echo_barge_in.py.)"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from labvoice.audio.echo import (AEC_BLOCK, EchoCanceller, EchoStats, FarEndReference, effective_barge_in,
                                 make_echo_canceller)
from labvoice.audio.resample import StreamingResampler
from labvoice.benchmarks.human_speech import librivox_clips

RATE = 16000
DEVICE_RATE = 48000
DEVICE_BLOCK = 256          # the Speaker's callback block at the device rate
FRAME = 512                 # the capture's frame at 16 kHz
T0 = 1000.0                 # an arbitrary monotonic time for sample 0


class _Player:
    """Like the Speaker's callback: device-rate blocks, each pushed with its DAC time, ahead of
    the microphone by the output buffer (`lead_s`)."""

    def __init__(self, reference: FarEndReference, audio_16k: np.ndarray, t0: float, lead_s: float = 0.1):
        resampler = StreamingResampler(RATE, DEVICE_RATE)
        self.audio = np.concatenate([resampler.process(audio_16k), resampler.flush()])
        self.reference, self.t0, self.lead_s, self.pos = reference, t0, lead_s, 0

    def play_until(self, t: float) -> None:
        while self.pos + DEVICE_BLOCK <= self.audio.size and self.t0 + self.pos / DEVICE_RATE < t + self.lead_s:
            block = self.audio[self.pos:self.pos + DEVICE_BLOCK].copy()
            self.reference.push(self.t0 + self.pos / DEVICE_RATE, block, DEVICE_RATE)
            self.pos += DEVICE_BLOCK


def _push_played(reference: FarEndReference, audio_16k: np.ndarray, t0: float) -> None:
    _Player(reference, audio_16k, t0).play_until(t0 + audio_16k.size / RATE)


def test_reference_is_read_back_at_the_time_it_played():
    clicks = np.zeros(RATE, dtype=np.float32)
    clicks[4000] = 1.0
    reference = FarEndReference(RATE)
    _push_played(reference, clicks, T0)
    got = reference.read(T0 + 0.2, 1600)                  # samples 3200..4800 of the played stream
    assert abs(int(np.argmax(np.abs(got))) - 800) <= 1
    assert not reference.read(T0 + 30.0, 160).any()       # nothing was played then: silence


def test_reference_gap_after_a_flush_is_silence():
    loud = np.full(RATE // 2, 0.5, dtype=np.float32)
    reference = FarEndReference(RATE)
    _push_played(reference, loud, T0)
    _push_played(reference, loud, T0 + 1.0)               # the stream restarted 0.5 s later
    gap = reference.read(T0 + 0.6, 4000)
    assert np.max(np.abs(gap)) < 1e-3
    assert np.mean(np.abs(reference.read(T0 + 1.1, 1600))) > 0.3


def _room(audio: np.ndarray, delay_s: float, gain: float, seed: int = 0) -> np.ndarray:
    """A delayed, attenuated echo with a 250 ms reverberant tail (RT ~0.4 s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * RATE)) / RATE
    rir = rng.standard_normal(t.size) * np.exp(-t / 0.06)
    rir[0] = 4.0
    rir /= np.sqrt(np.sum(rir ** 2))
    wet = fftconvolve(audio, rir)[:audio.size]
    d = int(delay_s * RATE)
    out = np.zeros_like(audio)
    out[d:] = gain * wet[:audio.size - d]
    return out.astype(np.float32)


def _energy_db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(a ** 2) / max(np.sum(b ** 2), 1e-20)))


@pytest.mark.parametrize("delay_s", [0.04, 0.12, 0.25])   # output buffer + room, as the live path sees it
def test_canceller_removes_real_speech_echo_and_keeps_a_voice_over_it(delay_s):
    clips = librivox_clips()
    far = np.concatenate([clips[-1].audio, clips[-2].audio])      # the "assistant": 13 s of speech
    person = clips[0].audio                                        # another utterance talks over it
    person_at = 8 * RATE
    near = _room(far, delay_s, gain=0.5)
    near[person_at:person_at + person.size] += 0.4 * person
    near += np.random.default_rng(1).standard_normal(near.size).astype(np.float32) * 1e-4

    reference = FarEndReference(RATE)
    player = _Player(reference, far, T0)
    canceller = EchoCanceller(reference, RATE)
    cleaned = []
    for start in range(0, near.size - FRAME + 1, FRAME):          # like the capture callback
        player.play_until(T0 + (start + FRAME) / RATE)
        cleaned.append(canceller.process(near[start:start + FRAME], T0 + start / RATE))
    out = np.concatenate(cleaned)
    assert out.size > near.size - FRAME - AEC_BLOCK

    echo_only = slice(RATE, person_at)
    assert _energy_db(near[echo_only], out[echo_only]) > 15        # measured ~20-28 dB
    over = slice(person_at, person_at + person.size)
    level = _energy_db(out[over], 0.4 * person)
    assert -10 < level < 3                                         # the voice survives (measured -6 dB)
    stats = canceller.stats
    assert stats.far_active_s > 5 and stats.erle_db is not None and stats.erle_db > 6


def test_stats_difference_and_empty():
    a, b = EchoStats(1.0, 10.0, 1.0), EchoStats(3.0, 110.0, 2.0)
    assert b.since(a).erle_db == pytest.approx(20.0)
    assert EchoStats(0.0, 0.0, 0.0).erle_db is None


def test_barge_in_auto_falls_back_to_speaker_without_a_canceller(caplog):
    assert effective_barge_in("auto", echo_cancelled=True) == "headphones"
    assert effective_barge_in("auto", echo_cancelled=False) == "speaker"
    assert effective_barge_in("off", echo_cancelled=True) == "off"


def test_canceller_off_by_config_is_none():
    from labvoice.config import load_config

    config = load_config(environ={"LABVOICE_AUDIO__ECHO_CANCELLER": "none"})
    assert config.pipeline.barge_in == "auto"            # the shipped default
    assert make_echo_canceller(config) is None
    assert isinstance(make_echo_canceller(load_config(environ={})), EchoCanceller)
