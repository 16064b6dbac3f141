"""Piper TTS with the bundled en_US-joe-medium voice."""
from __future__ import annotations

import statistics

import numpy as np
import pytest

from labvoice.audio.wavio import read_wav
from labvoice.cancel import CancelToken
from labvoice.style import Style
from labvoice.tts.piper import PIECE_MS, PiperSynthesizer

LONG_SENTENCE_KEPT_MB = 120   # the arena kept ~350 MB before it shrank after each run
SENTENCE = "The best run reached a validation accuracy of ninety eight percent on the test set."


def test_float32_pieces_at_the_voice_rate(piper_synthesizer):
    assert piper_synthesizer.sample_rate == 22050
    stream = piper_synthesizer.synthesize(SENTENCE, Style(), CancelToken())   # speed: scripts/bench_timing.py
    pieces = list(stream)
    assert all(p.dtype == np.float32 and p.ndim == 1 for p in pieces)
    piece = int(piper_synthesizer.sample_rate * PIECE_MS / 1000)
    assert all(len(p) == piece for p in pieces[:-1]) and 0 < len(pieces[-1]) <= piece
    audio = np.concatenate(pieces)
    assert 2.0 < len(audio) / piper_synthesizer.sample_rate < 8.0
    assert np.sqrt(np.mean(audio ** 2)) > 0.05 and np.max(np.abs(audio)) <= 1.0


def test_each_sentence_is_synthesized(piper_synthesizer):
    one = piper_synthesizer.synthesize_all("Hello there.")
    two = piper_synthesizer.synthesize_all("Hello there. How are you today?")
    assert len(two) > len(one) * 1.5


def test_cancel_stops_early(piper_synthesizer):
    token = CancelToken()
    pieces = []
    for piece in piper_synthesizer.synthesize(SENTENCE + " " + SENTENCE, Style(), token):
        pieces.append(piece)
        if len(pieces) == 2:
            token.cancel("test")
    assert len(pieces) == 2
    assert list(piper_synthesizer.synthesize(SENTENCE, Style(), token)) == []


def test_empty_text_gives_nothing(piper_synthesizer):
    assert list(piper_synthesizer.synthesize("   ", Style(), CancelToken())) == []


def test_energy_changes_the_pace_and_warmth_the_noise(piper_synthesizer):
    # Piper samples its phoneme durations (noise_w): one rendering each came out at 0.81 once in a
    # full suite run; the median of three is the pace.
    def length(energy: float) -> float:
        return statistics.median(len(piper_synthesizer.synthesize_all(SENTENCE, Style(energy=energy)))
                                 for _ in range(3))

    calm, lively = length(0.0), length(1.0)
    assert lively < calm * 0.8
    cold = piper_synthesizer.synthesis_config(Style(warmth=0.0))
    warm = piper_synthesizer.synthesis_config(Style(warmth=1.0))
    neutral = piper_synthesizer.synthesis_config(Style(warmth=0.5, energy=0.5))
    assert cold.noise_scale < neutral.noise_scale < warm.noise_scale
    assert neutral.length_scale == pytest.approx(piper_synthesizer.params.length_scale)
    assert neutral.noise_w_scale == pytest.approx(piper_synthesizer.params.noise_w_scale)


def test_noise_free_params_are_deterministic(piper_synthesizer):
    from labvoice.tts.piper import PiperParams

    steady = piper_synthesizer.with_params(PiperParams(length_scale=1.0, noise_scale=0.0, noise_w_scale=0.0))
    assert np.array_equal(steady.synthesize_all("Hello there."), steady.synthesize_all("Hello there."))
    assert piper_synthesizer.params.noise_scale > 0  # the shared voice is unchanged


def test_synthesize_to_wav(piper_synthesizer, tmp_path):
    path = piper_synthesizer.synthesize_to_wav("Testing one two three.", tmp_path / "t.wav", pad_s=(0.5, 0.25))
    audio, rate = read_wav(path)
    assert rate == piper_synthesizer.sample_rate
    assert np.max(np.abs(audio[:int(0.5 * rate)])) == 0.0
    assert np.max(np.abs(audio)) > 0.3


def test_from_config_and_missing_voice(piper_synthesizer, cpu_config, tmp_path):
    from labvoice.models import ModelMissing, bundled_path

    assert piper_synthesizer.model_path == bundled_path("tts")  # the fixture is built by from_config
    config = cpu_config.replace(**{"tts.piper.voice": str(tmp_path / "nope.onnx")})
    with pytest.raises(ModelMissing):
        PiperSynthesizer.from_config(config)


def test_a_long_sentence_does_not_keep_its_memory(piper_synthesizer):
    """onnxruntime's arena would keep a long sentence's tensors (~350 MB for 40 words) for good;
    the session gives them back after each run, so a short sentence after a long one leaves RSS
    near where it was before (the soak's RSS steps; see tts/piper.py)."""
    import psutil

    words = "the best run on digits reached ninety seven percent validation accuracy at a rate of".split()
    long_sentence = " ".join(words[i % len(words)] for i in range(40)) + "."
    rss = lambda: psutil.Process().memory_info().rss / 2**20  # noqa: E731
    piper_synthesizer.synthesize_all("Hello there.")
    before = rss()
    for _ in range(2):
        piper_synthesizer.synthesize_all(long_sentence)
        piper_synthesizer.synthesize_all("Hello there.")
    assert rss() - before < LONG_SENTENCE_KEPT_MB, f"{rss() - before:.0f} MB kept after a 40-word sentence"
