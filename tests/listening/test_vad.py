"""Silero VAD on onnxruntime and the end-of-speech detector, on Piper-synthesized speech."""
from __future__ import annotations

import numpy as np
import pytest

from labvoice.audio.wavio import read_for_pipeline
from labvoice.listening.endpointer import EndOfSpeechDetector, SpeechStart, Utterance, VadOptions, segment_file
from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE, SileroVad

BOUNDARY_TOLERANCE_S = 0.15   # start/end found within this of the truth


def _detector(vad, **changes) -> EndOfSpeechDetector:
    return EndOfSpeechDetector(vad, VadOptions(**changes))


def test_model_inputs_are_what_we_feed(silero_vad):
    names = {i.name: i.shape for i in silero_vad._session.get_inputs()}
    assert set(names) == {"input", "state", "sr"}
    assert names["state"][0] == 2 and names["state"][2] == 128


def test_speech_probability(silero_vad, spoken_questions):
    """(Its speed per frame is measured by scripts/bench_timing.py.)"""
    question = spoken_questions[0]
    audio = read_for_pipeline(question.path)
    frames = audio[:len(audio) - len(audio) % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    silero_vad.reset()
    probs = np.array([silero_vad(frame) for frame in frames])
    t = (np.arange(len(frames)) + 0.5) * FRAME_SAMPLES / SAMPLE_RATE
    inside = (t > question.speech_start_s + 0.2) & (t < question.speech_end_s - 0.2)
    outside = (t < question.speech_start_s - 0.2) | (t > question.speech_end_s + 0.4)
    assert np.median(probs[inside]) > 0.8
    assert np.max(probs[outside]) < 0.3
    with pytest.raises(ValueError):
        silero_vad(np.zeros(256, np.float32))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_finds_the_speech_in_a_padded_question(silero_vad, spoken_questions, cpu_config, index):
    question = spoken_questions[index]
    audio = read_for_pipeline(question.path)
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad))
    utterances = segment_file(audio, detector)
    assert len(utterances) == 1
    utt = utterances[0]
    assert utt.t_speech_start == pytest.approx(question.speech_start_s, abs=BOUNDARY_TOLERANCE_S)
    assert utt.t_speech_end == pytest.approx(question.speech_end_s, abs=BOUNDARY_TOLERANCE_S)
    assert utt.duration_s == pytest.approx(utt.t_speech_end - utt.t_speech_start)
    assert not utt.cut_at_max
    assert utt.audio.dtype == np.float32
    # The audio holds the pre-roll before speech and stops soon after it.
    pre_roll_s = cpu_config.vad.pre_roll_ms / 1000
    assert len(utt.audio) / SAMPLE_RATE == pytest.approx(utt.duration_s + pre_roll_s, abs=0.25)


def test_streaming_events_in_order(silero_vad, spoken_questions):
    audio = read_for_pipeline(spoken_questions[1].path)
    detector = _detector(silero_vad)
    detector.reset()
    events = []
    clock = 1000.0  # any monotonic origin
    for i in range(len(audio) // FRAME_SAMPLES):
        event = detector.feed(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], clock + i * FRAME_SAMPLES / SAMPLE_RATE)
        if event is not None:
            events.append((i, event))
        if isinstance(event, SpeechStart):
            assert detector.in_speech
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["SpeechStart", "Utterance"]
    (i_start, start), (i_end, utt) = events
    assert start.t_speech_start == utt.t_speech_start
    # SpeechStart comes min_speech_ms after the speech began; the utterance end_silence_ms after it ended.
    assert (i_start + 1) * FRAME_SAMPLES / SAMPLE_RATE + clock - utt.t_speech_start == pytest.approx(0.2, abs=0.07)
    assert (i_end + 1) * FRAME_SAMPLES / SAMPLE_RATE + clock - utt.t_speech_end == pytest.approx(0.4, abs=0.04)
    assert not detector.in_speech


def test_silence_and_noise_are_not_speech(silero_vad):
    rng = np.random.default_rng(0)
    hum = 0.1 * np.sin(2 * np.pi * 100 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE)
    for audio in (np.zeros(3 * SAMPLE_RATE), 0.05 * rng.standard_normal(3 * SAMPLE_RATE), hum):
        assert segment_file(audio.astype(np.float32), _detector(silero_vad)) == []


def test_short_blip_is_ignored(silero_vad, spoken_questions):
    audio = read_for_pipeline(spoken_questions[0].path)
    start = int(spoken_questions[0].speech_start_s * SAMPLE_RATE)
    blip = np.zeros(3 * SAMPLE_RATE, np.float32)
    blip[SAMPLE_RATE:SAMPLE_RATE + int(0.12 * SAMPLE_RATE)] = audio[start:start + int(0.12 * SAMPLE_RATE)]
    assert segment_file(blip, _detector(silero_vad, min_speech_ms=300)) == []


def test_speech_longer_than_max_is_cut(silero_vad, spoken_questions):
    question = spoken_questions[0]
    audio = read_for_pipeline(question.path)
    max_s = round(0.6 * (question.speech_end_s - question.speech_start_s), 2)  # one cut, then the rest
    utterances = segment_file(audio, _detector(silero_vad, max_utterance_s=max_s))
    assert [u.cut_at_max for u in utterances] == [True, False]
    first, rest = utterances
    assert first.t_speech_end - first.t_speech_start == pytest.approx(max_s, abs=0.04)
    assert rest.t_speech_start >= first.t_speech_end
    assert rest.t_speech_end == pytest.approx(question.speech_end_s, abs=BOUNDARY_TOLERANCE_S)


def _voiced_s(utterances) -> float:
    return sum(u.duration_s for u in utterances)


def test_raised_threshold_ignores_faint_speech(silero_vad, spoken_questions):
    """Speaker mode: the assistant's own voice reaches the mic faint and noisy; a higher
    threshold hears less of it. (Silero is level-invariant, so faintness means low SNR.)"""
    audio = read_for_pipeline(spoken_questions[0].path)
    noise = np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32)
    faint = 0.12 * audio + 0.05 * noise
    detector = _detector(silero_vad)
    normal = _voiced_s(segment_file(faint, detector))
    detector.set_threshold(0.95)
    assert detector.threshold == 0.95
    raised = _voiced_s(segment_file(faint, detector))
    detector.reset_threshold()
    assert detector.threshold == 0.5
    assert normal > 0.5 and raised < normal - 0.3
    assert _voiced_s(segment_file(faint, detector)) == normal
    with pytest.raises(ValueError):
        detector.set_threshold(1.5)


def test_speech_running_to_the_end_of_the_file_is_returned(silero_vad, spoken_questions):
    audio = read_for_pipeline(spoken_questions[0].path)
    cut = int((spoken_questions[0].speech_end_s - 0.3) * SAMPLE_RATE)
    utterances = segment_file(audio[:cut], _detector(silero_vad))
    assert len(utterances) == 1 and isinstance(utterances[0], Utterance)


def test_from_config_uses_the_bundled_model(cpu_config):
    vad = SileroVad.from_config(cpu_config)
    assert 0.0 <= vad(np.zeros(FRAME_SAMPLES, np.float32)) < 0.1


def test_speech_run_starts_with_the_speech_and_ends_in_silence(silero_vad, spoken_questions, cpu_config):
    """Barge-in asks for an unbroken run of speech: the run starts near the speech and is gone in
    the silence after it."""
    question = spoken_questions[0]
    audio = read_for_pipeline(question.path)
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad))
    frames = audio[:len(audio) - len(audio) % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    runs = []
    for i, frame in enumerate(frames):
        t = i * FRAME_SAMPLES / SAMPLE_RATE
        detector.feed(frame, t)
        runs.append((t, detector.speech_run_started))
    inside = [run for t, run in runs if question.speech_start_s + 0.3 < t < question.speech_start_s + 0.5]
    assert inside and all(run is not None for run in inside)
    assert inside[0] == pytest.approx(question.speech_start_s, abs=BOUNDARY_TOLERANCE_S + 0.3)
    after = [run for t, run in runs if t > question.speech_end_s + 0.5]
    assert after and all(run is None for run in after)
