"""What a benchmark knows about the questions it made itself, so its figures measure what they say:
where the speech in its own WAV truly ends (the clock starts there, not at the VAD's end of the
last voiced frame, which comes ~30-60 ms later), and whether an answer used the runs the same
question typed would have (a misheard question answered fast is not answered right)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

SPEECH_LEVEL = 0.01   # |sample| above this share of the peak is speech (Piper pads with exact zeros)


def true_speech_end_s(audio: np.ndarray, rate: int, level: float = SPEECH_LEVEL) -> float:
    """Seconds from the start of `audio` to the end of its last audible sample."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 0.0:
        raise ValueError("the audio is silent: no end of speech to find")
    loud = np.flatnonzero(np.abs(audio) > level * peak)
    return float(loud[-1] + 1) / rate


def vad_end_after_true_end_ms(audio: np.ndarray, rate: int, vad_speech_end_s: float) -> float:
    """How much later than the true end of speech the VAD put it (both in seconds into `audio`)."""
    return round((vad_speech_end_s - true_speech_end_s(audio, rate)) * 1000, 1)


def expected_run_ids(retrieve, questions: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each question's run ids when typed: `retrieve(text)` is the retriever's (a Retrieval)."""
    return {q: tuple(retrieve(q).used_run_ids) for q in dict.fromkeys(questions)}


def answered_right(expected: tuple[str, ...], used: tuple[str, ...]) -> bool:
    """The spoken question was answered with the runs (in the order) the typed one is."""
    return tuple(used) == tuple(expected)
