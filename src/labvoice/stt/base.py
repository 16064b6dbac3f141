"""The speech-to-text interface every backend implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

import numpy as np

from labvoice.cancel import CancelToken


@dataclass(frozen=True)
class TranscriptSegment:
    """One stretch of speech as text. `alternatives` are other readings of the same audio that the
    decoder's beam kept, best first (empty from a greedy or single-reading backend)."""

    text: str
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    alternatives: tuple[str, ...] = ()


def readings(segments: Sequence[TranscriptSegment]) -> tuple[str, ...]:
    """Whole-utterance readings, the decoder's best first: the segments joined, then, when the utterance
    was one segment, its alternatives."""
    joined = " ".join(s.text.strip() for s in segments).strip()
    if len(segments) != 1:
        return (joined,) if joined else ()
    others = tuple(a.strip() for a in segments[0].alternatives if a.strip() and a.strip() != joined)
    return ((joined,) if joined else ()) + others


@dataclass(frozen=True)
class Heard:
    """Words heard, for the end-of-turn judge: `certainty` is how sure Whisper was of them, the lowest
    segment's average log-probability (None when unknown; tiny.en is unsure of words cut off
    mid-question: -0.4 to -0.6, whole questions -0.03 to -0.33), and `actionable` whether they make
    a question the assistant can act on (True until the judge has read them)."""

    text: str
    certainty: float | None = None
    actionable: bool = True


class Transcriber(Protocol):
    """Turns one utterance (16 kHz mono float32) into text segments, lazily. `hints` are names
    the speaker is likely to say (dataset and model names from the DB); a backend that cannot use
    them ignores them."""

    def transcribe(self, audio: np.ndarray, cancel: CancelToken,
                   hints: Sequence[str] = ()) -> Iterator[TranscriptSegment]: ...
