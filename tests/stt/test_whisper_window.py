"""Whisper's encoder on a window sized to the utterance (stt/whisper_window.py): the window, the
encoder output it gives, and the same words as the full 30 s window on spoken questions and a
person's sentences, with no repeated text."""
from __future__ import annotations

import numpy as np
import pytest

from labvoice.audio.wavio import read_for_pipeline
from labvoice.stt.whisper_window import MIN_WINDOW_FRAMES, ShortWindowWhisper, window_frames
from tests.stt.test_faster_whisper import word_error_rate
from labvoice.benchmarks.human_speech import librivox_clips

FULL = 3000


@pytest.mark.parametrize("content, window", [(0, MIN_WINDOW_FRAMES), (370, MIN_WINDOW_FRAMES), (1950, 2100),
                                             (2234, 2400), (2950, FULL), (FULL, FULL)])
def test_the_window_is_the_audio_plus_a_margin_within_its_bounds(content, window):
    assert window_frames(content, FULL) == window


def test_the_cpu_transcriber_encodes_the_utterance_not_thirty_seconds(whisper_transcriber, spoken_questions):
    model = whisper_transcriber._model
    assert isinstance(model, ShortWindowWhisper)
    audio = read_for_pipeline(spoken_questions[0].path)
    features = model.feature_extractor(audio)
    padded = np.pad(features, ((0, 0), (0, FULL - features.shape[1])))   # as faster-whisper pads it
    encoded = model.encode(padded)
    assert encoded.shape[1] == window_frames(features.shape[1], FULL) // 2 < FULL // 2   # 2 frames per position


def test_the_short_window_hears_the_same_words_as_the_full_one(whisper_transcriber, spoken_questions, cpu_config):
    from faster_whisper import WhisperModel

    full = WhisperModel(whisper_transcriber.model_path, device="cpu", compute_type="int8", cpu_threads=cpu_config.threads)
    options = dict(language="en", beam_size=1, temperature=[0.0], without_timestamps=True,
                   condition_on_previous_text=False, vad_filter=False)
    audios = [read_for_pipeline(q.path) for q in spoken_questions[:6]] + [c.audio for c in librivox_clips()]
    for audio in audios:
        heard = " ".join(s.text.strip() for s in full.transcribe(audio, **options)[0])
        short = whisper_transcriber.transcribe_text(audio)
        assert word_error_rate(heard, short) <= 0.2, (heard, short)
        assert len(short.split()) <= len(heard.split()) + 2, (heard, short)   # no looping repeats
