"""Semantic end of turn: has the person finished, judged from how the last seconds sounded?

`SmartTurn` runs Pipecat's Smart Turn v3.2 ONNX model (BSD-2-Clause; the file ships inside the
`pipecat-ai` wheel, installed with --no-deps; only the ONNX file is used, nothing of pipecat is
imported). The model takes Whisper-style log-mel features of the last 8 s of the utterance
(80 mel bands x 800 frames of 10 ms) and returns the probability that the turn is complete.
`log_mel_features` computes those features here with numpy (Whisper's recipe: a 400-point Hann
STFT every 160 samples, power spectrum, 80 Slaney mel bands up to 8 kHz, log10, clipped to 8
decades below the peak, scaled by (x + 4) / 4, on zero-mean unit-variance audio).

The endpointer (vad.EndOfSpeechDetector) asks `TurnJudge` at a short silence (`vad.turn_check_ms`);
"complete" ends the turn at once, "incomplete" waits for the fallback silence (`turn_fallback_ms`).
Complete means both: Smart Turn's probability is above `vad.turn_complete_at` (0.85, not the
model's own 0.5, which ended "which run had | ..." on the app's Piper voice), and the words so far
(Whisper's speculative transcript) do not stop mid-phrase (`ends_unfinished`). Measured with
`scripts/bench.py --pauses` (README): Smart Turn alone calls many such fragments finished; the
words catch most of them.
"""
from __future__ import annotations

import dataclasses
import logging
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from labvoice.stt.base import Heard

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW_S = 8                     # the model sees the last 8 s (zeros in front of shorter audio)
N_FFT = 400                      # 25 ms
HOP = 160                        # 10 ms
N_MELS = 80
FRAMES = WINDOW_S * SAMPLE_RATE // HOP    # 800
LOG_FLOOR = 1e-10
DYNAMIC_RANGE = 8.0              # decades kept below the loudest band
NORM_EPS = 1e-7
COMPLETE_AT = 0.5                # the model's own decision threshold (the app's: vad.turn_complete_at)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz * 3.0 / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * 27.0 / np.log(6.4)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * 200.0 / 3.0
    log_part = 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0)
    return np.where(mel >= 15.0, log_part, linear)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters, each scaled to unit area (Slaney norm)."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return filters.astype(np.float32)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """(N_MELS, FRAMES) float32 features of the last WINDOW_S of 16 kHz mono `audio`."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    size = WINDOW_S * SAMPLE_RATE
    window = np.zeros(size, dtype=np.float32)
    tail = audio[-size:]
    window[size - tail.size:] = tail
    window = (window - window.mean()) / np.sqrt(window.var() + NORM_EPS)
    # Centred frames: reflect-pad half a window on each side, then one frame per hop.
    padded = np.pad(window, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]   # FRAMES + 1 frames
    spectrum = np.fft.rfft(frames * _hann(), axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    mel = mel_filters() @ power.T                                             # (N_MELS, FRAMES + 1)
    log_mel = np.log10(np.maximum(mel, LOG_FLOOR))[:, :FRAMES]                # the last frame is dropped
    log_mel = np.maximum(log_mel, log_mel.max() - DYNAMIC_RANGE)
    return ((log_mel + 4.0) / 4.0).astype(np.float32)


class SmartTurn:
    """Probability that an utterance is a finished turn. One owner thread; ~0.1 s per call on CPU."""

    def __init__(self, model_path: str | Path, threads: int = 1, complete_at: float = COMPLETE_AT) -> None:
        import onnxruntime

        self.complete_at = complete_at   # probability above which the turn counts as finished

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle workers steal a core
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "input_features" or list(inputs[0].shape[1:]) != [N_MELS, FRAMES]:
            raise ValueError(f"{model_path}: not a Smart Turn v3 model (inputs "
                             f"{[(i.name, i.shape) for i in inputs]}, expected input_features [batch, 80, 800])")
        self._input = inputs[0].name

    @classmethod
    def from_config(cls, config) -> "SmartTurn":
        from labvoice.models import resolve_model

        return cls(resolve_model("turn", config.vad.turn_model, config.paths.models),
                   complete_at=config.vad.turn_complete_at)

    def probability(self, audio: np.ndarray) -> float:
        """P(the person has finished) for 16 kHz mono audio ending now (speech plus the pause so far)."""
        features = log_mel_features(audio)[None, :, :]
        (prob,) = self._session.run(None, {self._input: features})
        return float(np.asarray(prob).reshape(-1)[0])

    def is_complete(self, audio: np.ndarray) -> bool:
        return self.probability(audio) > self.complete_at


# Words a finished sentence does not end on: articles, possessives, conjunctions, prepositions
# ("which run had the best ... on", "compare it with the", "more than"). A question that ends on a
# stranded preposition ("which dataset was it trained on") only waits for the fallback silence:
# slower, never cut.
UNFINISHED_WORDS = frozenset("""
a an the my your our their its every
and or but nor than
of to in on at for with by from into onto about between among
above below under across through against within without towards toward per via
very
""".split())
# A determiner and a modifier with no noun yet ("which run had the best | validation accuracy",
# "compare the two best | svm runs"): the noun phrase is still open. ("Which run was the best?" is
# finished, and waits for the fallback silence.)
DETERMINERS = frozenset("the a an my your our their its this that these those".split())
NOUN_MODIFIERS = frozenset("""
best worst most least last first latest earliest newest oldest next previous same other top bottom
highest lowest largest smallest biggest longest shortest fastest slowest greatest second third
average mean median total overall final maximum minimum
""".split())
NUMBER_WORDS = frozenset("two three four five six seven eight nine ten".split())
# A wh-question that ends on an auxiliary is still waiting for its verb or its subject ("what
# learning rate did | the best forest use"). Outside questions a clause may end on one ("tell me
# what the learning rate was"), so only questions that begin with a wh-word are judged by it.
WH_WORDS = frozenset("what which who whom whose when where why how".split())
AUXILIARIES = frozenset("""
do does did is are was were has have had can could will would shall should may might must
""".split())
# A relative clause just opened ("are there any runs that | crashed"): "that", "which" or "whose"
# after a noun. After a verb or a preposition the same word is a finished object ("why is that?",
# "who did that?", "what about that?").
RELATIVE_WORDS = frozenset("that which whose".split())
# An active verb that wants what comes after it, with nothing after it yet: "which experiments on
# iris reached | a validation accuracy above ...", "which runs on wine took | longer". (After a
# form of "be" or "get" it is passive and finished: "which learning rate was used?". A bare form
# after "did" is finished too: "what did the best run use?", so only past forms are listed.)
NEEDS_MORE = frozenset("""
reached beat took used gave got had achieved scored needed made exceeded outperformed produced
contained required yielded performed showed included compared trained
""".split())
PASSIVE_MARKERS = frozenset("is are was were be been being get gets got".split())
TAKES_AN_OBJECT = AUXILIARIES | frozenset("about like than know think mean say said see tell".split())


TRAILING_OFF = ("...", "\u2026", "-", "\u2014", ",", ";", ":")   # how Whisper writes speech that stops mid-phrase
SENTENCE_END = ".?!"


def _words(text: str) -> list[str]:
    words = [w.strip(".,;:!?\"'()\u2026-").lower() for w in text.split()]
    return [w for w in words if w]


def ends_unfinished(transcript: str | None) -> bool:
    """The words stop mid-phrase, judged from Whisper's own punctuation (it punctuates with the
    sentence prompt of stt.faster_whisper.hint_prompt) and from grammar that holds in any sentence:
    - Whisper wrote "..." or "-" where the speech trails off, or no full stop, question or
      exclamation mark at the end (a transcriber that never punctuates only makes every turn wait
      for the fallback silence: slower, never cut);
    - Whisper said the same sentence twice ("Which runs work. Which runs work."): its decoder
      loops on speech that stops mid-word, so the words cannot be trusted to be finished;
    - the last word cannot end a sentence ("... on the", "... more than");
    - a noun phrase is open: a determiner, then only modifiers ("the best", "the two best");
    - a wh-question ends on an auxiliary ("what learning rate did?");
    - a relative clause has just opened ("any runs that?");
    - an active verb still wants its object ("which experiments reached?", not "which rate was used?");
    - nothing was heard as words at all (""): the speech so far is not known to be a sentence.
    None (no transcript made) is not unfinished: the turn model decides alone."""
    if transcript is None:
        return False
    text = transcript.strip().rstrip("\"')]")
    if not text:
        return True
    if text.endswith(TRAILING_OFF) or text[-1] not in SENTENCE_END:
        return True
    words = _words(text)
    if not words or _repeats_itself(words):
        return True
    if words[-1] in UNFINISHED_WORDS or _open_noun_phrase(words):
        return True
    if len(words) > 2 and words[-1] in RELATIVE_WORDS and words[-2] not in TAKES_AN_OBJECT | UNFINISHED_WORDS:
        return True
    if len(words) > 2 and words[-1] in NEEDS_MORE and words[-2] not in PASSIVE_MARKERS:
        return True
    return words[0] in WH_WORDS and words[-1] in AUXILIARIES and len(words) > 2


def _repeats_itself(words: list[str]) -> bool:
    half = len(words) // 2
    return len(words) % 2 == 0 and half >= 2 and words[:half] == words[half:]


def _open_noun_phrase(words: list[str]) -> bool:
    """... a determiner, then only modifiers and numbers, ending on a modifier ("the two best")."""
    if words[-1] not in NOUN_MODIFIERS:
        return False
    for i in range(len(words) - 2, max(-1, len(words) - 5), -1):
        if words[i] in DETERMINERS:
            return all(w in NOUN_MODIFIERS or w.isdigit() or w in NUMBER_WORDS for w in words[i + 1:])
    return False


class TurnJudge:
    """Decides at a pause whether the turn is over: Smart Turn hears how the last seconds sounded,
    and the words so far (a speculative transcript, kept for the turn if it ends here) must read
    as a finished sentence (`ends_unfinished`). Either part may be absent. One owner thread (the listener)."""

    def __init__(self, model: SmartTurn | None, transcribe: Callable[[np.ndarray], Heard | str] | None = None,
                 speculate_ms: int = 64,
                 background: bool = False, acts_on=None, unclear_wait_ms: int = 0) -> None:
        self.model = model
        self._transcribe = transcribe          # audio -> Heard (or plain text), or None (no speculative transcription)
        # words -> can the assistant act on them (a question it can answer)? Words it cannot act on
        # end the turn only after `unclear_wait_ms` of silence: they are what a question broken off
        # in a pause reads as ("could you tell me?", "which model performed?").
        self._acts_on = acts_on
        self.unclear_wait_ms = unclear_wait_ms
        self.speculate_ms = speculate_ms       # pause after which the words so far are transcribed
        self.last_probability: float | None = None
        # background: the words are transcribed on a worker (stt/speculative.py) while the listener
        # keeps hearing and the turn model judges the pause; else in the caller's thread (offline).
        self.background = None
        if background and transcribe is not None:
            from labvoice.stt.speculative import BackgroundTranscriber

            self.background = BackgroundTranscriber(self.transcribe)

    @property
    def transcribes(self) -> bool:
        return self._transcribe is not None

    def transcribe(self, audio: np.ndarray) -> Heard | None:
        """The words so far, read for whether they make an actionable question (`Heard.actionable`);
        on the background worker when there is one, so the listener never waits for the parser."""
        if self._transcribe is None:
            return None
        try:
            said = self._transcribe(audio)
        except Exception as err:  # noqa: BLE001 - speculation is an optimisation: the turn transcribes again
            log.warning("speculative transcription failed: %s", err)
            return None
        if said is None:
            return None
        words = said if isinstance(said, Heard) else Heard(said)   # a plain transcriber: no certainty
        if self._acts_on is None or not words.text.strip():
            return words
        try:
            actionable = bool(self._acts_on(words.text))
        except Exception as err:  # noqa: BLE001 - the parser failing must not stop the turn from ending
            log.warning("reading the words for the end of turn failed: %s", err)
            actionable = True
        return dataclasses.replace(words, actionable=actionable)

    def wait_ms(self, words: Heard | None) -> int:
        """Silence the turn needs before it ends once the turn model and the words say "finished"."""
        return self.unclear_wait_ms if words is not None and not words.actionable else 0

    def close(self) -> None:
        """End the background worker, if any."""
        if self.background is not None:
            self.background.close()

    def is_complete(self, audio: np.ndarray, transcript: Heard | None) -> bool:
        if words_unfinished(transcript):
            self.last_probability = None
            return False
        if self.model is None:
            self.last_probability = None
            return transcript is not None and bool(transcript.text.strip())
        self.last_probability = self.model.probability(audio)
        return self.last_probability > self.model.complete_at


# Whisper's certainty (average log-probability of the least sure segment) below which the words so
# far do not end a turn: tiny.en guessing at a cut-off last word ("which model performance?") is
# less sure (-0.4 to -0.6 measured) than of a whole question (-0.03 to -0.33). Such a turn waits for
# the fallback silence: slower, never cut.
UNSURE_LOGPROB = -0.4


def unsure_words(transcript: Heard | None) -> bool:
    return transcript is not None and transcript.certainty is not None and transcript.certainty < UNSURE_LOGPROB


def words_unfinished(transcript: Heard | None) -> bool:
    """The words so far do not end the turn: they read as unfinished, or Whisper was unsure of them."""
    return ends_unfinished(transcript.text if transcript is not None else None) or unsure_words(transcript)


def load_turn_model(config) -> SmartTurn | None:
    """The configured turn model, or None (`vad.turn_model: none`, or it cannot load: said once)."""
    if config.vad.turn_model == "none":
        return None
    try:
        return SmartTurn.from_config(config)
    except Exception as err:  # noqa: BLE001 - missing wheel, bad file: fall back to the fixed silence
        log.warning("end-of-turn model unavailable (%s); turns end after %d ms of silence. Fix: "
                    "pip install --no-deps pipecat-ai==1.14.0 (or make install)", err, config.vad.end_silence_ms)
        return None
