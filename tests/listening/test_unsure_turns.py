"""Words Whisper was unsure of and the end of turn (`vad.unsure_complete_at`, listening/judge.py): on an
espeak-ng voice tiny.en is unsure of whole questions, so they wait for the fallback silence; the rule lets
Smart Turn end such a turn when it is surer than the setting and the words read as finished. Real models
(Silero VAD, Smart Turn, tiny.en) on espeak-ng speech (evaluation/hearing_voices.py)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from labvoice.benchmarks.paused_speech import PausedSpeech, cut_early, endpoint
from labvoice.evaluation.hearing_voices import Voice, speak_paused
from labvoice.listening.endpointer import EndOfSpeechDetector, Utterance, VadOptions
from labvoice.listening.judge import TurnJudge
from labvoice.listening.smart_turn import SmartTurn
from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE
from labvoice.listening.words import UNSURE_LOGPROB
from labvoice.pipeline.hearing import hear_utterance
from labvoice.stt.base import Heard

# As the hearing rig's voices of these names (the name seeds the room's reverb).
ROOM = Voice("gb-rp-room", "en-gb-x-rp", 150, 50, reverb_s=0.3)
US_M3 = Voice("us-m3", "en-us+m3", 150, 45)
SURE = 0.95
TAIL_S = 2.0


def _said(text: str, voice: Voice, after: int | None = None, pause_s: float = 0.0) -> PausedSpeech:
    said = speak_paused(text, voice, after, pause_s, TAIL_S)
    return PausedSpeech(text, said.audio, said.speech_end_s, said.pause)


@pytest.fixture(scope="module")
def smart_turn(cpu_config):
    return SmartTurn.from_config(cpu_config)


@pytest.fixture(scope="module")
def hear(whisper_transcriber):
    def words(audio: np.ndarray) -> Heard:        # as Stages.hear with no DB: the words with Whisper's certainty
        return hear_utterance(whisper_transcriber, audio, None)
    return words


@pytest.fixture(scope="module")
def compare(cpu_config):
    return _said("Compare the two best support vector machine runs on iris.", ROOM)


def _detector(silero_vad, smart_turn, hear, cpu_config, unsure_complete_at: float, background: bool = False):
    judge = TurnJudge(smart_turn, hear, background=background, unsure_complete_at=unsure_complete_at)
    return EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad), judge)


def test_unsure_words_of_a_finished_question_wait_for_the_fallback_unless_the_model_is_sure(
        silero_vad, smart_turn, hear, cpu_config, compare):
    """The same audio: with 1.0 (never) the turn waits for `turn_fallback_ms`; with 0.95 Smart Turn ends it."""
    never = _detector(silero_vad, smart_turn, hear, cpu_config, 1.0)
    utterances, _ = endpoint(never, compare)
    assert len(utterances) == 1 and utterances[0].ended_by == "silence"
    heard = utterances[0].transcript
    assert heard.certainty < UNSURE_LOGPROB, heard          # tiny.en is unsure of this voice
    assert never.judge.last_probability is None             # Smart Turn was not even asked

    sure = _detector(silero_vad, smart_turn, hear, cpu_config, SURE)
    utterances, _ = endpoint(sure, compare)
    assert len(utterances) == 1 and utterances[0].ended_by == "turn_model", utterances[0].transcript
    assert utterances[0].transcript.certainty < UNSURE_LOGPROB
    assert sure.judge.last_probability > SURE and sure.turn_checks == 1


def test_a_setting_above_what_the_model_heard_still_waits(silero_vad, smart_turn, hear, cpu_config, compare):
    sure = _detector(silero_vad, smart_turn, hear, cpu_config, SURE)
    endpoint(sure, compare)
    heard_p = sure.judge.last_probability
    stricter = _detector(silero_vad, smart_turn, hear, cpu_config, min(0.9999, heard_p + (1 - heard_p) / 2))
    utterances, _ = endpoint(stricter, compare)
    assert len(utterances) == 1 and utterances[0].ended_by == "silence"


def test_unsure_words_that_read_unfinished_keep_the_turn_open_however_sure_the_model(
        silero_vad, smart_turn, hear, cpu_config):
    """"Which run had the best | ...": at the pause Smart Turn is sure (> 0.95) and tiny.en unsure, but the
    words end on an open noun phrase ("... the best."), so even with the rule on it is one turn."""
    paused = _said("Which run had the best validation accuracy on the digits dataset?", ROOM, 5, 0.7)
    at_pause = paused.audio[:int((paused.pause[0] + 0.2) * SAMPLE_RATE)]
    assert smart_turn.probability(at_pause) > SURE
    heard = hear(at_pause)
    assert heard.certainty < UNSURE_LOGPROB and heard.text.rstrip(".?!").lower().endswith("the best"), heard
    detector = _detector(silero_vad, smart_turn, hear, cpu_config, SURE)
    utterances, _ = endpoint(detector, paused)
    assert len(utterances) == 1 and utterances[0].t_speech_end > paused.pause[1]


def test_the_rule_can_end_a_question_in_its_pause(silero_vad, smart_turn, hear, cpu_config):
    """The cost (why `vad.unsure_complete_at` ships at 1.0): "Could you | list every perceptron run from
    yesterday?" with a 0.4 s pause, in an espeak-ng US voice; tiny.en hears the first half as a finished
    question it is very unsure of ("Don't you?"), Smart Turn is sure, and the rule ends the turn in the
    pause. With 1.0 it is one turn."""
    paused = _said("Could you list every perceptron run from yesterday?", US_M3, 2, 0.4)
    never = _detector(silero_vad, smart_turn, hear, cpu_config, 1.0)
    utterances, _ = endpoint(never, paused)
    assert len(utterances) == 1 and not cut_early(utterances, paused)
    sure = _detector(silero_vad, smart_turn, hear, cpu_config, SURE)
    utterances, _ = endpoint(sure, paused)
    assert cut_early(utterances, paused) and utterances[0].ended_by == "turn_model"   # as bench.py --pauses counts
    assert utterances[0].transcript.certainty < UNSURE_LOGPROB


class _Gate:
    """Holds each transcription until the test lets it go, as a loaded machine's worker would be late."""

    def __init__(self, hear) -> None:
        self.hear = hear
        self.waiting, self.go, self.done = threading.Event(), threading.Event(), threading.Event()

    def __call__(self, audio):
        self.waiting.set()
        self.go.wait(60)
        self.go.clear()
        try:
            return self.hear(audio)
        finally:
            self.done.set()

    def let_go(self) -> None:
        self.waiting.clear()
        self.done.clear()
        self.go.set()
        assert self.done.wait(60)


@pytest.mark.parametrize("unsure_complete_at, ended_by", [(SURE, "turn_model"), (1.0, "silence")])
def test_words_back_after_the_turn_check_are_read_with_the_models_verdict(
        silero_vad, smart_turn, hear, cpu_config, compare, unsure_complete_at, ended_by):
    """Live, the words are transcribed on a worker: Smart Turn hears the pause first (the words held back
    until then), and the unsure words that come back later end the turn only if the model was surer than
    the setting."""
    gate = _Gate(hear)
    detector = _detector(silero_vad, smart_turn, gate, cpu_config, unsure_complete_at, background=True)
    check_ms = cpu_config.vad.turn_check_ms
    ended = []
    try:
        detector.reset()
        frames = compare.audio[:compare.audio.size - compare.audio.size % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
        for i, frame in enumerate(frames):
            event = detector.feed(frame, i * FRAME_SAMPLES / SAMPLE_RATE)
            if isinstance(event, Utterance):
                ended.append(event)
            if gate.waiting.is_set() and (detector.pause_ms == 0 or detector.pause_ms >= check_ms):
                gate.let_go()          # the voice went on (stale words), or the model has heard the pause
    finally:
        detector.close()
    assert len(ended) == 1 and ended[0].ended_by == ended_by
    assert ended[0].transcript.certainty < UNSURE_LOGPROB
    assert detector.judge.last_probability > SURE          # heard at the last pause, without the words


def test_the_app_judge_takes_the_setting_from_the_config(live_stages, live_config):
    detector = live_stages.new_endpointer(background=False)
    assert detector.judge.unsure_complete_at == live_config.vad.unsure_complete_at
