"""Semantic end of turn: the log-mel features, Smart Turn v3.2 on real speech, the unfinished-word
rule, and the endpointer with a TurnJudge (speculative transcript kept or thrown away)."""
from __future__ import annotations

import numpy as np
import pytest

from labvoice.listening.judge import TurnJudge
from labvoice.listening.smart_turn import FRAMES, N_MELS, SmartTurn, log_mel_features, mel_filters
from labvoice.listening.words import ends_unfinished
from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions
from labvoice.benchmarks.human_speech import librivox_clips
from labvoice.benchmarks.paused_speech import (RATE, AlignedVoice, endpoint, human_speech, spoken_questions,
                                         whisper_word_end)

PAUSE_S = 0.3


@pytest.fixture(scope="module")
def smart_turn(cpu_config):
    return SmartTurn.from_config(cpu_config)


@pytest.fixture(scope="module")
def paused_person(cpu_config):
    """'he might even have been | made amiable himself' with a 0.7 s pause at the bar."""
    from labvoice.models import resolve_model

    word_end = whisper_word_end(resolve_model("stt", cpu_config.stt.cpu.model, cpu_config.paths.models))
    return next(i for i in human_speech(librivox_clips(), word_end, pauses=(0.7,))
                if i.pause is not None and "he might even" in i.label)


@pytest.fixture(scope="module")
def best_question(cpu_config):
    """Piper (no sampling noise) asks "Which run had the best validation accuracy on the digits
    dataset?" whole, and with 0.6 s and 0.9 s pauses after "the best", exactly in the word gap."""
    from labvoice.models import resolve_model

    voice = AlignedVoice(resolve_model("tts", cpu_config.tts.piper.voice, cpu_config.paths.models))
    items = spoken_questions(voice, ["Which run had the best | validation accuracy on the digits dataset?"],
                             pauses=(0.6, 0.9), natural=False)
    return {None if i.pause is None else round(i.pause[1] - i.pause[0], 1): i for i in items}


HINTS = ("breast_cancer", "digits", "iris", "wine", "linear svm", "mlp", "random forest")   # as the DB's names


def _clip(stem: str):
    return next(c for c in librivox_clips() if c.path.stem.endswith(stem))


def test_features_have_the_models_shape_and_put_a_tone_in_its_band():
    t = np.arange(RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    features = log_mel_features(tone)
    assert features.shape == (N_MELS, FRAMES) and features.dtype == np.float32
    centres = np.argmax(mel_filters(), axis=1) * (RATE / 2) / (mel_filters().shape[1] - 1)
    loudest_band = int(np.argmax(features[:, -50:].mean(axis=1)))
    assert abs(centres[loudest_band] - 1000) < 100
    # One second of audio sits at the end of the 8 s window; the front is the (quieter) padding.
    assert features[loudest_band, -50:].mean() > features[:, :50].mean() + 0.5
    assert features.max() - features.min() <= 2.0 + 1e-6          # 8 decades, scaled by 1/4


def test_model_input_is_checked(smart_turn):
    inputs = smart_turn._session.get_inputs()
    assert inputs[0].name == "input_features" and list(inputs[0].shape[1:]) == [N_MELS, FRAMES]


@pytest.mark.parametrize("stem, cut_at_s, finished", [
    ("0920", None, True),    # "had he married a more amiable woman he might have been made still ... than he was"
    ("0870", None, True),    # "and mister john dashwood had then leisure to consider ... for them"
    ("0930", 1.40, False),   # "he might even have been |"
    ("0880", 1.40, False),   # "he was not an |"
])
def test_smart_turn_hears_finished_and_unfinished_human_speech(smart_turn, stem, cut_at_s, finished):
    clip = _clip(stem)
    speech = clip.audio if cut_at_s is None else clip.audio[:int(cut_at_s * RATE)]
    audio = np.concatenate([speech, np.zeros(int(PAUSE_S * RATE), np.float32)])
    assert smart_turn.is_complete(audio) is finished, smart_turn.probability(audio)


@pytest.mark.parametrize("text, unfinished", [
    ("Which runs used more than?", True), ("What was the loss of the...", True), ("Compare it with.", True),
    ("Show me the most recent run that was-", True), ("Which run had the best", True),
    ("which run had the best", True), ("which runs diverged", True),   # no final mark: not known to be finished
    ("Which runs work. Which runs work.", True), ("How long did this? How long did this?", True),
    ("Which runs diverged? Which ones did not?", False),
    ("Which run had the best?", True), ("Compare the two best.", True), ("Tell me about the last.", True),
    ("What learning rate did?", True), ("How many epochs did the top run?", False),
    ("Which run did best?", False), ("than he was.", False), ("How many runs used a perceptron?", False),
    ("Tell me what the learning rate was.", False), ("What is this?", False), ("Show me the top five.", False),
    ("Which was the best random forest?", False), ("Hello, how are you?", False),
    ("Are there any runs that?", True), ("Why is that?", False), ("Who did that?", False), ("What's that?", False),
    ("What is the average?", True),
    ("Which experiments on iris reached?", True), ("Which runs used?", True), ("Which learning rate was used?", False),
    ("What did the best run use?", False), ("Which runs crashed?", False),
    ("Can you show us which?", True), ("Let me know whether.", True), ("Tell her what?", True),
    ("Guess what?", False), ("So what?", False), ("Tell me why.", False), ("Show me which runs crashed.", False),
    ("Which model got a lower?", True), ("Compare the better.", True), ("Which run was better?", False),
    ("Why does it?", True), ("When did they?", True), ("Who did that?", False), ("Which run did it?", False),
    ("Why did it crash?", False),
    ("", True), ("...", True),                   # speech heard as no words: not known to be finished
    (None, False),                               # no transcript made: the turn model decides alone
])
def test_unfinished_words(text, unfinished):
    assert ends_unfinished(text) is unfinished


class _Counting:
    """A transcriber stand-in that counts calls; the judge's transcribe hook takes any callable."""

    def __init__(self, transcribe):
        self.transcribe, self.calls = transcribe, 0

    def __call__(self, audio):
        self.calls += 1
        return self.transcribe(audio)


def test_a_pause_after_an_unfinished_word_does_not_end_the_turn(silero_vad, smart_turn, whisper_transcriber,
                                                                cpu_config, paused_person):
    words = _Counting(whisper_transcriber.transcribe_text)
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad), TurnJudge(smart_turn, words))
    paused = paused_person
    utterances, _ = endpoint(detector, paused)
    assert len(utterances) == 1, [(u.t_speech_end, u.transcript) for u in utterances]
    assert utterances[0].t_speech_end > paused.pause[1]
    assert words.calls >= 2            # once at the pause (thrown away when the voice went on), once at the end
    assert "amiable" in utterances[0].transcript.text.lower()


def test_a_finished_sentence_ends_on_the_model_with_its_transcript_ready(silero_vad, smart_turn,
                                                                         whisper_transcriber, cpu_config):
    options = VadOptions.from_config(cpu_config.vad)
    detector = EndOfSpeechDetector(silero_vad, options, TurnJudge(smart_turn, whisper_transcriber.transcribe_text))
    plain = next(i for i in human_speech(librivox_clips()) if "had he married" in i.label)
    utterances, _ = endpoint(detector, plain)
    assert len(utterances) == 1
    utterance = utterances[0]
    assert utterance.ended_by == "turn_model"
    assert "respectable" in utterance.transcript.text.lower()
    # Decided after the short check, long before the fallback silence (in audio time).
    assert detector.turn_checks >= 1
    assert options.turn_check_ms < options.turn_fallback_ms


def test_without_a_judge_the_fixed_silence_ends_the_turn(silero_vad, cpu_config, paused_person):
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad))
    utterances, _ = endpoint(detector, paused_person)
    assert len(utterances) == 2 and all(u.transcript is None for u in utterances)
    assert detector.end_silence_ms == cpu_config.vad.end_silence_ms


@pytest.mark.parametrize("pause_s", [0.6, 0.9])
def test_a_pause_after_the_best_does_not_end_the_question(silero_vad, smart_turn, whisper_transcriber, cpu_config,
                                                          best_question, pause_s):
    """Smart Turn alone hears "which run had the best" as finished (p ~0.9 on this voice); the words
    so far, punctuated by Whisper with the hint prompt, end on an open noun phrase and keep the
    turn open; the fallback silence is longer than the pause."""
    words = _Counting(lambda audio: whisper_transcriber.transcribe_text(audio, hints=HINTS))
    judge = TurnJudge(smart_turn, words)
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad), judge)
    paused = best_question[pause_s]
    utterances, _ = endpoint(detector, paused)
    assert len(utterances) == 1, [(u.t_speech_end, u.transcript) for u in utterances]
    assert utterances[0].t_speech_end > paused.pause[1]
    assert words.calls >= 2 and detector.turn_checks >= 2     # judged at the pause, and at the end
    assert "validation accuracy" in utterances[0].transcript.text.lower()   # the words after the pause too


def test_the_same_question_without_a_pause_ends_at_the_turn_check(silero_vad, smart_turn, whisper_transcriber,
                                                                  cpu_config, best_question):
    judge = TurnJudge(smart_turn, lambda audio: whisper_transcriber.transcribe_text(audio, hints=HINTS))
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad), judge)
    utterances, _ = endpoint(detector, best_question[None])
    assert len(utterances) == 1
    assert utterances[0].ended_by == "turn_model" and detector.turn_checks == 1   # at the first check, not the fallback
    assert utterances[0].transcript.text.rstrip().endswith(("?", "."))
    assert judge.last_probability > cpu_config.vad.turn_complete_at


def test_the_fallback_silence_outlasts_the_longest_pause(silero_vad, cpu_config, best_question):
    """A turn model that never hears "finished": the 0.9 s pause (up to ~960 ms of silence as the
    VAD measures it) must not reach the fallback silence."""
    from labvoice.models import resolve_model

    never = SmartTurn(resolve_model("turn", cpu_config.vad.turn_model, cpu_config.paths.models), complete_at=1.0)
    detector = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad), TurnJudge(never))
    paused = best_question[0.9]
    utterances, _ = endpoint(detector, paused)
    assert len(utterances) == 1 and utterances[0].ended_by == "silence"
    assert utterances[0].t_speech_end > paused.pause[1]


def test_words_whisper_was_unsure_of_do_not_end_the_turn():
    from labvoice.stt.base import Heard
    from labvoice.listening.judge import TurnJudge
    from labvoice.listening.words import UNSURE_LOGPROB, unsure_words, words_unfinished

    sure = Heard("Which run had the best validation accuracy?", UNSURE_LOGPROB + 0.3)
    unsure = Heard("Which model performance?", UNSURE_LOGPROB - 0.2)
    assert not unsure_words(sure) and unsure_words(unsure)
    assert not unsure_words(Heard("Which model performance?"))   # no certainty known: not unsure
    assert words_unfinished(unsure) and not words_unfinished(sure)
    judge = TurnJudge(None)                                         # words only: no turn model
    silence = np.zeros(16000, dtype=np.float32)
    assert judge.is_complete(silence, sure)
    assert not judge.is_complete(silence, unsure)


@pytest.mark.parametrize("words, actionable", [
    ("Which run had the best validation accuracy?", True),
    ("How many runs used a perceptron?", True),
    ("Tell me a joke.", True),
    ("Hello, how are you today?", True),
    ("What was the dropout rate of the best run?", True),    # names what the DB lacks: a whole question
    ("Could you tell me?", False),                            # the openings people pause after
    ("Can you compare?", False),
    ("Which model performed?", False),
    ("Which experiments on iris reached?", False),
])
def test_the_app_reads_whether_it_can_act_on_the_words(live_stages, words, actionable):
    assert live_stages.brain.retriever.acts_on(words) is actionable


def test_words_it_cannot_act_on_wait_longer_before_the_turn_ends(live_stages, live_config):
    """The app's own endpointer: "Could you tell me | how long the last run took?" with a 0.7 s
    pause after "me" is one turn (the words so far make no question it can act on, so the turn
    needs `vad.unclear_wait_ms` of silence), and the words heard are marked so."""
    from labvoice.models import resolve_model
    from labvoice.stt.base import Heard

    voice = AlignedVoice(resolve_model("tts", live_config.tts.piper.voice, live_config.paths.models))
    items = spoken_questions(voice, ["Could you tell me | how long the last run took?"], pauses=(0.7,), natural=False)
    paused = next(i for i in items if i.pause is not None)
    detector = live_stages.new_endpointer(background=False)
    assert detector.judge.unclear_wait_ms == live_config.vad.unclear_wait_ms > 960   # > a 0.9 s pause as heard
    utterances, _ = endpoint(detector, paused)
    assert len(utterances) == 1, [(u.t_speech_end, u.transcript) for u in utterances]
    assert utterances[0].t_speech_end > paused.pause[1]
    heard = detector.judge.transcribe(paused.audio[:int(paused.pause[0] * RATE) + RATE // 5])
    assert isinstance(heard, Heard) and heard.actionable is False, heard
    assert detector.judge.wait_ms(heard) == live_config.vad.unclear_wait_ms


def test_a_question_it_can_act_on_still_ends_at_the_turn_check(live_stages, best_question):
    detector = live_stages.new_endpointer(background=False)
    utterances, _ = endpoint(detector, best_question[None])
    assert len(utterances) == 1 and utterances[0].ended_by == "turn_model"
    assert detector.turn_checks == 1 and utterances[0].transcript.actionable is True


def test_an_unsure_ending_does_not_end_the_turn():
    from labvoice.stt.base import Heard
    from labvoice.listening.words import UNSURE_ENDING_LOGPROB, UNSURE_LOGPROB, unsure_words

    guess = "Is there a run with that?"                      # reads finished
    assert not ends_unfinished(guess)
    sure = Heard(guess, UNSURE_LOGPROB + 0.3, ending_certainty=UNSURE_ENDING_LOGPROB + 0.2)
    unsure_end = Heard(guess, UNSURE_LOGPROB + 0.3, ending_certainty=UNSURE_ENDING_LOGPROB - 0.2)
    assert not unsure_words(sure) and unsure_words(unsure_end)
    judge = TurnJudge(None)
    silence = np.zeros(16000, dtype=np.float32)
    assert judge.is_complete(silence, sure) and not judge.is_complete(silence, unsure_end)


def test_half_a_question_written_as_a_finished_one_is_held_by_its_unsure_ending(whisper_transcriber, cpu_config):
    """Through tiny.en: Piper stops after "Show me the" for 0.7 s; the words so far come back as a finished
    sentence ("... right.", read as finished) of whose ending the decoder was unsure, while the whole
    question's ending is sure."""
    from labvoice.models import resolve_model
    from labvoice.pipeline.hearing import hear_utterance
    from labvoice.listening.words import UNSURE_ENDING_LOGPROB, unsure_words

    voice = AlignedVoice(resolve_model("tts", cpu_config.tts.piper.voice, cpu_config.paths.models))
    items = spoken_questions(voice, ["Show me the | runs that were stopped early."], pauses=(0.7,), natural=False)
    whole = next(i for i in items if i.pause is None)
    half = next(i for i in items if i.pause is not None)
    said = hear_utterance(whisper_transcriber, half.audio[:int((half.pause[0] + 0.2) * RATE)], None)
    assert not ends_unfinished(said.ending), said
    assert said.ending_certainty is not None and said.ending_certainty < UNSURE_ENDING_LOGPROB and unsure_words(said)
    heard = hear_utterance(whisper_transcriber, whole.audio, None)
    assert heard.ending_certainty is not None and heard.ending_certainty > UNSURE_ENDING_LOGPROB, heard
    assert not unsure_words(heard)


def test_an_espeak_ng_half_question_written_as_finished_is_held_by_its_unsure_ending(whisper_transcriber):
    """The same through a voice other than the app's own: espeak-ng en-us+m3 stops after "took" for 0.55 s;
    tiny.en writes the half as a finished sentence of whose last word it was unsure, and the whole question's
    ending as sure."""
    from labvoice.evaluation.hearing_voices import VOICES, speak_paused
    from labvoice.pipeline.hearing import hear_utterance
    from labvoice.listening.words import UNSURE_ENDING_LOGPROB, unsure_words

    voice = next(v for v in VOICES if v.espeak == "en-us+m3")
    question = "Which runs on breast cancer took longer than an hour?"
    paused = speak_paused(question, voice, 6, 0.55, 1.0)
    said = hear_utterance(whisper_transcriber, paused.audio[:int((paused.pause[0] + 0.2) * RATE)], None)
    assert not ends_unfinished(said.ending), said
    assert said.ending_certainty is not None and said.ending_certainty < UNSURE_ENDING_LOGPROB and unsure_words(said)
    heard = hear_utterance(whisper_transcriber, speak_paused(question, voice, None, 0.0, 1.0).audio, None)
    assert heard.ending_certainty is not None and heard.ending_certainty > UNSURE_ENDING_LOGPROB, heard
