"""Real human speech for tests: LibriVox recordings with transcripts from Debian's
`pocketsphinx-testdata` (16 kHz mono WAVs, one reader). Used where a test needs a person's voice
that nothing can tell from the assistant's by timbre (barge-in over the echo path, the canceller)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile

LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
SAMPLE_RATE = 16000


@dataclass(frozen=True, eq=False)
class SpokenClip:
    path: Path
    text: str
    audio: np.ndarray          # float32 mono 16 kHz

    @property
    def duration_s(self) -> float:
        return self.audio.size / SAMPLE_RATE

    def speech_onset_s(self, threshold: float = 0.02) -> float:
        """Time of the first sample louder than `threshold` (the clips start with a little silence)."""
        loud = np.nonzero(np.abs(self.audio) > threshold)[0]
        return float(loud[0]) / SAMPLE_RATE if loud.size else 0.0


@lru_cache(maxsize=1)
def librivox_clips() -> tuple[SpokenClip, ...]:
    """The five clips, shortest first. Raises FileNotFoundError with the install command."""
    transcript = LIBRIVOX_DIR / "transcription"
    if not transcript.is_file():
        raise FileNotFoundError(f"{LIBRIVOX_DIR} is missing: apt-get install pocketsphinx-testdata "
                                f"(or make system-deps)")
    clips = []
    for line in transcript.read_text().splitlines():
        if "(" not in line:
            continue
        words, _, name = line.rpartition("(")
        text = words.replace("<s>", "").replace("</s>", "").strip()
        path = LIBRIVOX_DIR / f"{name.strip(' )')}.wav"
        audio, rate = soundfile.read(str(path), dtype="float32")
        if rate != SAMPLE_RATE:
            raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz, found {rate}")
        clips.append(SpokenClip(path, text, audio))
    return tuple(sorted(clips, key=lambda c: c.audio.size))
