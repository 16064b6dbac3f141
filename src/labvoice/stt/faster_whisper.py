"""faster-whisper speech-to-text: tiny.en int8 on CPU (bundled), large-v3(-turbo) on GPU.

The audio arrives already endpointed by our VAD, so faster-whisper's own VAD filter is off, and
decoding is tuned for latency: no timestamps, no conditioning on previous text, one temperature (no
fallback re-decodes). With `stt.beam_size` above 1 an utterance within Whisper's window is decoded by
`whisper_beam`: its segment is the greedy first guess and carries the beam's readings (`beam`) for the
voice path to choose among; beam 1 is greedy through faster-whisper alone. faster-whisper returns a
lazy generator; `transcribe` consumes it in the calling thread and checks the cancel token between
segments. Output that is probably not speech is dropped (see `is_noise`).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from typing import Iterator, Sequence

import numpy as np

from labvoice.cancel import NEVER, CancelToken
from labvoice.models import resolve_model
from labvoice.stt.base import TranscriptSegment
from labvoice.stt.whisper_beam import SURE_FIRST_GUESS, WINDOW_SAMPLES, BeamReadings, decode_readings, fitted_prompt

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
TEMPERATURES = (0.0,)          # greedy only: a fallback re-decode costs a full pass for little gain
# Whisper's own silence rule (paper, section 4.5): a segment whose no-speech probability is above
# 0.6 while its average log-probability is below -1 is silence the decoder made words for.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
# A no-speech probability this high is noise whatever the text's confidence ("Thank you." on silence
# comes with a confident log-probability, so the joint rule above lets it through).
NO_SPEECH_ALONE_THRESHOLD = 0.8
COMPRESSION_RATIO_THRESHOLD = 2.4   # repetitive loops ("you you you ...") compress this well
NO_SECOND_EAR = "none"         # stt.<profile>.second_ear: no second model
SILENCE_RMS = 1e-4             # below this the audio is digital silence: do not run the model at all
_WORDS = re.compile(r"[A-Za-z0-9]")


def is_noise(segment) -> bool:
    """True when a faster-whisper segment is probably not speech (see the thresholds above)."""
    if not _WORDS.search(segment.text):
        return True
    if segment.no_speech_prob > NO_SPEECH_ALONE_THRESHOLD:
        return True
    if segment.no_speech_prob > NO_SPEECH_THRESHOLD and segment.avg_logprob < LOG_PROB_THRESHOLD:
        return True
    return segment.compression_ratio > COMPRESSION_RATIO_THRESHOLD


def hint_prompt(hints: Sequence[str]) -> str | None:
    """The names the speaker is likely to say, as Whisper's prompt (the text "before" the audio).
    Whisper writes in the style of its prompt: given a bare comma list of lower-case names, tiny.en
    wrote most questions lower-case and without punctuation (measured on 65 whole spoken questions,
    Piper and LibriVox: 19 ended on "?", "." or "!"), so a finished question could not be told from
    a fragment by its words (listening.words.ends_unfinished). As a capitalised sentence ending in "."
    the same names keep their spelling help and tiny.en punctuates (65 of 65), while words cut off
    mid-sentence mostly come back without a final mark, or with "..." or "-".
    """
    if not hints:
        return None
    return f"Questions about runs on {', '.join(hints)}."


def second_ear_path(second_ear: str, models_dir) -> str | None:
    """The folder of the model a `second_ear` setting names (as `stt.<profile>.model` names one), None for
    NO_SECOND_EAR."""
    if second_ear == NO_SECOND_EAR:
        return None
    return str(resolve_model("stt", second_ear, models_dir, subdir="faster-whisper-"))


class FasterWhisperTranscriber:
    """Implements `Transcriber`. Load once; `transcribe` is safe to call from one thread at a time."""

    def __init__(self, model_path: str, *, device: str = "cpu", compute_type: str = "int8", threads: int = 1,
                 language: str = "en", beam_size: int = 1, second_ear: str | None = None) -> None:
        """`second_ear`: another Whisper (a folder) that also hears an utterance the first was unsure of, its
        readings offered after the first's (with `beam_size` above 1)."""
        try:
            import tqdm
            from faster_whisper import WhisperModel
        except ImportError:
            raise ImportError("faster-whisper is not installed; install it with: pip install faster-whisper") from None
        # faster-whisper makes a (disabled) tqdm bar per utterance, and each one starts tqdm's
        # monitor thread again once the last has exited: a thread that comes and goes every turn.
        tqdm.tqdm.monitor_interval = 0
        self.language = language
        self.beam_size = beam_size
        self.model_path = str(model_path)
        if device == "cpu":   # the fixed 30 s encoder window is most of the time on CPU (whisper_window.py)
            from labvoice.stt.whisper_window import ShortWindowWhisper as WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        def load(path: str):
            model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads, num_workers=1,
                                 local_files_only=True)
            return model, Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                    language=language)

        self._model, self._tokenizer = load(self.model_path)
        self._second = load(str(second_ear)) if second_ear is not None else None
        log.info("faster-whisper %s loaded (%s, %s, %d threads%s)", model_path, device, compute_type, threads,
                 f", second ear {second_ear}" if second_ear is not None else "")

    @classmethod
    def from_config(cls, config, profile: str) -> "FasterWhisperTranscriber":
        model = config.stt.gpu if profile == "gpu" else config.stt.cpu
        path = resolve_model("stt", model.model, config.paths.models, subdir="faster-whisper-")
        device = model.device
        if device == "auto":
            device = "cuda" if profile == "gpu" else "cpu"
        return cls(str(path), device=device, compute_type=model.compute_type, threads=config.threads,
                   language=config.stt.language, beam_size=config.stt.beam_size,
                   second_ear=second_ear_path(model.second_ear, config.paths.models))

    def transcribe(self, audio: np.ndarray, cancel: CancelToken = NEVER,
                   hints: Sequence[str] = (), respell_to: Sequence[str] = ()) -> Iterator[TranscriptSegment]:
        """Segments of 16 kHz mono float32 speech, noise removed; stops quietly when cancelled.
        `hints` go to Whisper in its prompt (`hint_prompt`): tiny.en then writes "mnist" where it heard
        "M-MIST" (measured on 24 noisy Piper questions naming 4 datasets: spelled right in 18 instead of
        13, and 20 recognised with the vocabulary's spelling fallback; same decoding time)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if cancel.cancelled or audio.size == 0 or float(np.sqrt(np.mean(audio * audio))) < SILENCE_RMS:
            return
        prompt = fitted_prompt(self._tokenizer, tuple(hints), hint_prompt)
        if self.beam_size > 1 and audio.size <= WINDOW_SAMPLES:
            segments = iter((self._readings(audio, prompt, tuple(hints), tuple(respell_to), cancel),))
        else:
            segments, _info = self._model.transcribe(
                audio, language=self.language, beam_size=self.beam_size, temperature=list(TEMPERATURES),
                without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
                no_speech_threshold=NO_SPEECH_THRESHOLD, log_prob_threshold=LOG_PROB_THRESHOLD,
                compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD, initial_prompt=prompt or None)
        looped = heard = False
        for segment in segments:  # decoding happens in this loop, on this thread
            if cancel.cancelled:
                return
            if is_noise(segment):
                log.debug("dropped noise segment %r (no_speech %.2f, logprob %.2f, ratio %.2f)", segment.text,
                          segment.no_speech_prob, segment.avg_logprob, segment.compression_ratio)
                looped = looped or segment.compression_ratio > COMPRESSION_RATIO_THRESHOLD
                continue
            heard = True
            beam, ending = ((segment.readings, segment.ending_logprob) if isinstance(segment, BeamReadings)
                            else ((), None))
            yield TranscriptSegment(segment.text.strip(), segment.no_speech_prob, segment.avg_logprob, beam, ending)
        if looped and not heard and hints and not cancel.cancelled:
            # tiny.en sometimes goes on with the prompt's list of names instead ("mr. sst, stsb, db, db, db...",
            # measured on espeak-ng voices, docs/hearing.md): hear it once more without the prompt
            log.debug("the decoder looped on the name prompt; transcribing again without it")
            yield from self.transcribe(audio, cancel, (), respell_to)

    def _readings(self, audio: np.ndarray, prompt: list[int], hints: tuple[str, ...], respell_to: tuple[str, ...],
                  cancel: CancelToken) -> BeamReadings:
        """The first model's readings and, where its first guess is unsure, the second ear's first guess (and
        that respelled) after them: on the hearing rig and held-out check 1 (366 hearings of espeak-ng voices,
        docs/hearing.md) Whisper base's reading among tiny.en's raised the spoken answers equal to typed from
        0.533 to 0.573 and from 0.426 to 0.468; base alone did worse on the rig (0.48), and on the app's own
        voice (tiny.en is sure of it) it is never run."""
        first = decode_readings(self._model, self._tokenizer, audio, prompt, self.beam_size, respell_to=respell_to)
        if self._second is None or first.avg_logprob >= SURE_FIRST_GUESS or cancel.cancelled:
            return first
        model, tokenizer = self._second
        other = decode_readings(model, tokenizer, audio, fitted_prompt(tokenizer, hints, hint_prompt), 0,
                                sure_above=math.inf, respell_to=respell_to)
        heard = first.readings + (first.text.strip(),) + other.readings + (other.text.strip(),)
        return replace(first, readings=tuple(dict.fromkeys(r for r in heard if r)))

    def transcribe_text(self, audio: np.ndarray, cancel: CancelToken = NEVER, hints: Sequence[str] = ()) -> str:
        """All segments joined (empty when nothing was said)."""
        return " ".join(s.text for s in self.transcribe(audio, cancel, hints)).strip()

    def warmup(self) -> None:
        """Run the model once on a short tone so the first real utterance is not slower."""
        t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
        self.transcribe_text((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
