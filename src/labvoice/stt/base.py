"""The speech-to-text interface every backend implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

import numpy as np

from labvoice.cancel import CancelToken


@dataclass(frozen=True)
class TranscriptSegment:
    text: str
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0


class Transcriber(Protocol):
    """Turns one utterance (16 kHz mono float32) into text segments, lazily."""

    def transcribe(self, audio: np.ndarray, cancel: CancelToken) -> Iterator[TranscriptSegment]: ...
