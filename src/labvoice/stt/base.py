"""The speech-to-text interface every backend implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

import numpy as np

from labvoice.cancel import CancelToken


@dataclass(frozen=True)
class TranscriptSegment:
    """One stretch of speech as text: `text` is the decoder's first guess (greedy) and `avg_logprob` its
    certainty; `beam` the readings of the same audio that a beam search kept, best first (empty from a
    greedy or single-reading backend); `ending_logprob` how sure the decoder was of how the first guess
    ends (`whisper_beam.ending_logprob`; None when the backend does not say)."""

    text: str
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    beam: tuple[str, ...] = ()
    ending_logprob: float | None = None


def readings(segments: Sequence[TranscriptSegment]) -> tuple[str, ...]:
    """Whole-utterance readings, the likeliest first: for a one-segment utterance its beam, then its first
    guess if the beam lacks it; otherwise the segments' first guesses joined."""
    joined = " ".join(s.text.strip() for s in segments).strip()
    beam = tuple(r.strip() for r in segments[0].beam if r.strip()) if len(segments) == 1 else ()
    return tuple(dict.fromkeys(beam + ((joined,) if joined else ())))


@dataclass(frozen=True)
class Heard:
    """Words heard, for the end-of-turn judge: `certainty` is how sure Whisper was of them, the lowest
    segment's average log-probability (None when unknown; tiny.en is unsure of words cut off
    mid-question: -0.4 to -0.6, whole questions -0.03 to -0.33), and `actionable` whether they make
    a question the assistant can act on (True until the judge has read them). `first_guess` is the
    decoder's greedy reading where `text` was chosen from a beam: the judge reads it for whether the
    words sound finished, and `certainty` is its (stt/whisper_beam.py says why). `ending_certainty` is how
    sure the decoder was of the first guess's last word and final mark (None when unknown)."""

    text: str
    certainty: float | None = None
    actionable: bool = True
    first_guess: str | None = None
    ending_certainty: float | None = None

    @property
    def ending(self) -> str:
        """The words read for whether they end a sentence."""
        return self.text if self.first_guess is None else self.first_guess


class Transcriber(Protocol):
    """Turns one utterance (16 kHz mono float32) into text segments, lazily. `hints` are names
    the speaker is likely to say (dataset and model names from the DB); `respell_to` are words an
    unsure guess may be read as where the decoder found them nearly as likely (a segment's `beam`
    readings); a backend that cannot use them ignores them."""

    def transcribe(self, audio: np.ndarray, cancel: CancelToken,
                   hints: Sequence[str] = (), respell_to: Sequence[str] = ()) -> Iterator[TranscriptSegment]: ...
