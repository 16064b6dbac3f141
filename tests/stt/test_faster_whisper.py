"""faster-whisper tiny.en on Piper-synthesized questions, endpointed by our VAD."""
from __future__ import annotations

import re

import numpy as np
import pytest

from labvoice.audio.wavio import read_for_pipeline
from labvoice.cancel import CancelToken
from labvoice.stt.base import TranscriptSegment
from labvoice.stt.faster_whisper import FasterWhisperTranscriber
from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions, segment_file

MAX_WER = 0.25


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def test_word_error_rate_helper():
    assert word_error_rate("the best run", "The best run.") == 0
    assert word_error_rate("the best run", "the run") == pytest.approx(1 / 3)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_transcribes_a_spoken_question(whisper_transcriber, silero_vad, spoken_questions, cpu_config, index):
    question = spoken_questions[index]
    audio = read_for_pipeline(question.path)
    (utterance,) = segment_file(audio, EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad)))
    segments = list(whisper_transcriber.transcribe(utterance.audio, CancelToken()))
    assert segments and all(isinstance(s, TranscriptSegment) for s in segments)
    text = " ".join(s.text for s in segments)
    assert word_error_rate(question.text, text) <= MAX_WER, text   # speed: scripts/bench_timing.py


def test_noise_and_silence_give_no_text(whisper_transcriber):
    rng = np.random.default_rng(0)
    hum = 0.1 * np.sin(2 * np.pi * 100 * np.arange(32000) / 16000)
    for audio in (np.zeros(32000), 0.003 * rng.standard_normal(32000), 0.05 * rng.standard_normal(32000), hum):
        assert whisper_transcriber.transcribe_text(audio.astype(np.float32)) == ""
    assert whisper_transcriber.transcribe_text(np.zeros(0, np.float32)) == ""


def test_cancelled_token_stops_before_decoding(whisper_transcriber, spoken_questions):
    audio = read_for_pipeline(spoken_questions[0].path)
    token = CancelToken()
    token.cancel("test")
    assert list(whisper_transcriber.transcribe(audio, token)) == []   # how fast: scripts/bench_timing.py


def test_from_config_cpu_profile(cpu_config):
    transcriber = FasterWhisperTranscriber.from_config(cpu_config, "cpu")
    assert transcriber.model_path.endswith("model")
    assert transcriber.beam_size == cpu_config.stt.beam_size and transcriber.language == "en"


def test_gpu_profile_without_weights_names_the_download(cpu_config, tmp_path):
    from labvoice.models import ModelMissing

    config = cpu_config.replace(**{"paths.models": str(tmp_path)})
    with pytest.raises(ModelMissing, match="download_models.py"):
        FasterWhisperTranscriber.from_config(config, "gpu")


def test_db_names_as_hints_spell_the_dataset_so_the_question_finds_it(whisper_transcriber, piper_synthesizer):
    """tiny.en hears "fashion mnist" as "fashion in this"; with the DB's names as hotwords the
    transcript names a dataset the vocabulary recognises."""
    from labvoice.audio.resample import resample
    from labvoice.knowledge.vocab import Vocabulary, question_tokens
    from labvoice.tts.piper import PiperParams

    vocab = Vocabulary(metrics=("val_acc",), datasets=("digits", "fashion_mnist", "mnist", "wine"),
                       model_kinds=("logreg", "mlp", "random_forest", "svm"), params=())
    voice = piper_synthesizer.with_params(PiperParams(length_scale=1.0, noise_scale=0.0, noise_w_scale=0.0))
    audio = resample(voice.synthesize_all("How many runs used fashion mnist?"), voice.sample_rate, 16000)
    heard = whisper_transcriber.transcribe_text(audio, hints=vocab.spoken_names())
    assert vocab.match_datasets(heard, question_tokens(heard)) == ["fashion_mnist"], heard


def test_hint_prompt_is_a_punctuated_sentence():
    from labvoice.stt.faster_whisper import hint_prompt

    assert hint_prompt(()) is None
    prompt = hint_prompt(("digits", "random forest"))
    assert prompt[0].isupper() and prompt.endswith(".") and "digits" in prompt and "random forest" in prompt


def test_with_hints_whole_questions_keep_their_punctuation(whisper_transcriber, spoken_questions):
    """The end of turn reads the speculative transcript (listening.words.ends_unfinished): with the DB's
    names as hints a whole question must still end on "?" or "." and read as finished (a bare list
    of hotwords made tiny.en drop the punctuation; tests/listening/test_turn_detect.py has the fragments)."""
    from labvoice.audio.wavio import read_for_pipeline
    from labvoice.listening.words import ends_unfinished

    hints = ("breast_cancer", "digits", "iris", "wine", "linear svm", "mlp", "random forest")
    for question in spoken_questions:
        text = whisper_transcriber.transcribe_text(read_for_pipeline(question.path), hints=hints)
        assert text.rstrip().endswith(("?", ".")), text
        assert not ends_unfinished(text), text
