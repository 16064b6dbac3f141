"""What travels through the pipeline's queues. Every item carries the turn it belongs to, so a
stage can drop the items of a turn that was interrupted or superseded (`turn.cancelled`)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from labvoice.cancel import CancelToken
from labvoice.pipeline.control import Turn


@dataclass(frozen=True, eq=False)
class TurnJob:
    """A question to answer: spoken (audio) or typed (text), and the turn it belongs to."""

    turn: Turn
    t_start: float                      # monotonic: end of speech, or when the text was submitted
    audio: np.ndarray | None = None     # 16 kHz mono float32 utterance
    text: str | None = None
    endpoint_ms: float = 0.0            # end of speech -> utterance emitted (the VAD's silence wait)
    cut_at_max: bool = False
    transcript: str | None = None       # the endpointer's speculative transcript of `audio` (STT skipped)

    @property
    def turn_id(self) -> int:
        return self.turn.id

    @property
    def cancel(self) -> CancelToken:
        return self.turn.cancel

    @property
    def source(self) -> str:
        return "voice" if self.audio is not None else "text"


@dataclass(frozen=True)
class SpeechItem:
    """A speakable piece of the answer for the Voice thread; `index` None marks the turn's end
    (always delivered, even for a cancelled turn, so whoever waits for it is never left waiting)."""

    turn: Turn
    index: int | None
    text: str = ""
    voiced: threading.Event | None = None   # set once this piece's audio exists (or cannot)


@dataclass(frozen=True)
class PlaybackNote:
    """What the Speaker reports back from the audio thread."""

    kind: str          # first_audio | chunk_played | tts_first_audio | piece_queued | synth_done | device_error
    turn_id: int
    t: float
    index: int = -1
    detail: str = ""


@dataclass
class TurnRecord:
    """Everything the logs keep about one turn."""

    turn_id: int
    source: str                          # voice | text
    transcript: str = ""
    answer: str = ""                     # only what was played (voice) or produced (text)
    used_run_ids: list[str] = field(default_factory=list)
    interrupted: bool = False
    fallback: bool = False
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
