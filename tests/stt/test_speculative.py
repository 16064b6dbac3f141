"""Speculative transcription off the listener thread (stt/speculative.py) and the endpointer with a
background judge: the listener keeps hearing while Whisper runs, a "finished" verdict waits for the
words, and words of a pause the person spoke through are thrown away."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from labvoice.stt.speculative import BackgroundTranscriber
from labvoice.listening.judge import TurnJudge
from labvoice.listening.smart_turn import SmartTurn
from labvoice.listening.endpointer import EndOfSpeechDetector, Utterance, VadOptions
from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE
from labvoice.benchmarks.human_speech import librivox_clips
from labvoice.benchmarks.paused_speech import human_speech, whisper_word_end

WAIT_S = 60            # generous bounds for a loaded machine; nothing here asserts a duration


@pytest.fixture(scope="module")
def smart_turn(cpu_config):
    return SmartTurn.from_config(cpu_config)


@pytest.fixture(scope="module")
def clips():
    return librivox_clips()


class _Gated:
    """The real transcriber behind a gate: call number `hold` waits until the test opens the gate
    (Whisper being slow is what the worker is for; here the test decides when it is done)."""

    def __init__(self, transcribe, hold: int = 1, returns: str | None = None) -> None:
        self.transcribe, self.hold, self.returns = transcribe, hold, returns
        self.calls = 0
        self.started, self.gate, self.held_too_long = threading.Event(), threading.Event(), False
        self.idle = threading.Event()
        self.idle.set()

    def __call__(self, audio):
        self.idle.clear()
        self.calls += 1
        try:
            if self.calls == self.hold:
                self.started.set()
                self.held_too_long = not self.gate.wait(WAIT_S)
                if self.returns is not None:
                    return self.returns
            return self.transcribe(audio)
        finally:
            self.idle.set()


def _frames(audio: np.ndarray) -> np.ndarray:
    return audio[:audio.size - audio.size % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)


def _until_event(detector, frames, start: int, words: _Gated):
    """Feed frames from `start` until an utterance ends, each once the words asked for are back (as if
    Whisper were instant next to the audio's own time)."""
    for i in range(start, len(frames)):
        assert words.idle.wait(WAIT_S)
        time.sleep(0.005)   # the worker hands the words over just after they are made
        event = detector.feed(frames[i], i * FRAME_SAMPLES / SAMPLE_RATE)
        if isinstance(event, Utterance):
            return event
    return detector.finish()


def test_background_transcriber_answers_by_number_and_drops_overtaken_requests(whisper_transcriber, clips):
    words = _Gated(whisper_transcriber.transcribe_text)
    worker = BackgroundTranscriber(words)
    try:
        audio = clips[0].audio
        worker.submit(1, audio)
        assert words.started.wait(WAIT_S)
        worker.submit(2, np.zeros(SAMPLE_RATE, np.float32))   # waits behind 1, then overtaken by 3
        worker.submit(3, audio)
        words.gate.set()
        deadline = time.monotonic() + WAIT_S
        while not worker.result(3)[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert words.calls == 2                  # 1 and 3: request 2 was never transcribed
        assert worker.result(1) == (False, None)  # taken off the queue with 3, and no longer wanted
    finally:
        worker.close()
    assert not any(t.name == "speculative-stt" and t.is_alive() for t in threading.enumerate())


def test_the_listener_keeps_hearing_while_the_words_are_transcribed(silero_vad, smart_turn, whisper_transcriber,
                                                                    cpu_config, clips):
    options = VadOptions.from_config(cpu_config.vad)
    words = _Gated(whisper_transcriber.transcribe_text)
    judge = TurnJudge(smart_turn, words, background=True)
    detector = EndOfSpeechDetector(silero_vad, options, judge)
    plain = next(i for i in human_speech(clips) if "had he married" in i.label)
    frames = _frames(plain.audio)
    try:
        end_frame = int(plain.speech_end_s * SAMPLE_RATE / FRAME_SAMPLES)
        # Through the speech, the turn check and past the silence fallback, with Whisper held: nothing
        # blocks, and no turn ends without the words of this pause (they are on their way).
        check_frames = int((options.turn_fallback_ms + 500) / 1000 * SAMPLE_RATE / FRAME_SAMPLES)
        for i in range(end_frame + check_frames):
            assert not isinstance(detector.feed(frames[i], i * FRAME_SAMPLES / SAMPLE_RATE), Utterance)
        assert words.started.is_set() and detector.turn_checks == 1   # the model judged the pause meanwhile
        words.gate.set()
        utterance = _until_event(detector, frames, end_frame + check_frames, words)
    finally:
        words.gate.set()
        detector.close()
    assert not words.held_too_long
    assert utterance is not None and utterance.ended_by != "max_length"
    assert "respectable" in utterance.transcript.text.lower()   # its own words: nothing to transcribe again


def test_words_of_a_pause_the_person_spoke_through_are_thrown_away(silero_vad, smart_turn, whisper_transcriber,
                                                                   cpu_config, clips):
    from labvoice.models import resolve_model

    word_end = whisper_word_end(resolve_model("stt", cpu_config.stt.cpu.model, cpu_config.paths.models))
    paused = next(i for i in human_speech(clips, word_end, pauses=(0.7,))
                  if i.pause is not None and "he might even" in i.label)
    options = VadOptions.from_config(cpu_config.vad)
    words = _Gated(whisper_transcriber.transcribe_text, returns="stale words of the pause")
    detector = EndOfSpeechDetector(silero_vad, options, TurnJudge(smart_turn, words, background=True))
    frames = _frames(paused.audio)
    try:
        resumed = int(paused.pause[1] * SAMPLE_RATE / FRAME_SAMPLES) + 3
        for i in range(resumed):   # the first speculation (in the pause) is held until the voice is back
            assert not isinstance(detector.feed(frames[i], i * FRAME_SAMPLES / SAMPLE_RATE), Utterance)
        assert words.started.is_set()
        words.gate.set()
        utterance = _until_event(detector, frames, resumed, words)
    finally:
        words.gate.set()
        detector.close()
    assert utterance is not None and utterance.t_speech_end > paused.pause[1]
    assert "stale" not in utterance.transcript.text and "amiable" in utterance.transcript.text.lower()
