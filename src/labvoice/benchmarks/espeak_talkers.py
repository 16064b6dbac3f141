"""espeak-ng people for the barge-in benchmark (issue 19): short interruptions said by espeak-ng voices that
the hearing rig never used (hearing_voices.VOICES, hearing_heldout.HELDOUT_VOICES), at several speeds and
pitches. They are written as 16 kHz WAVs scaled to the LibriVox reader's loudness (within ~10%: the scale
is set on the samples above 0.01, and scaling lifts a few more above it), so the two talkers differ by voice,
not by level, and `barge_in.prepare_people` adds the same room reverb to both.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from labvoice.benchmarks.human_speech import SAMPLE_RATE, SpokenClip, librivox_clips
from labvoice.evaluation.hearing_voices import Voice, speak

# What a person says to stop an answer: short, natural, written for this benchmark only.
INTERRUPTIONS = (
    "hold on, that is not the run I meant",
    "wait, stop there please",
    "no no, I asked about the wine dataset",
    "sorry, can you go back to the first one",
    "okay that's enough, thank you",
    "actually, skip that and tell me the best score",
    "hang on a second",
    "stop, which learning rate was that",
    "never mind, show me the latest run instead",
    "excuse me, I meant validation loss, not accuracy",
)
# Variants (m4, f3, m2) and settings that no hearing-rig voice has: a slow low man, a fast high woman,
# a Scottish man at an ordinary pace.
TALKERS: tuple[Voice, ...] = (
    Voice("barge-gb-m4-slow", "en-gb+m4", 135, 30),
    Voice("barge-us-f3-fast", "en-us+f3", 180, 70),
    Voice("barge-scotland-m2", "en-gb-scotland+m2", 160, 45),
)
TAIL_S = 0.2                 # silence after the words (LibriVox clips end about so)


def voiced_rms(audio: np.ndarray, level: float = 0.01) -> float:
    """RMS over the samples louder than `level` (the speech, not the silence around it)."""
    voiced = audio[np.abs(audio) > level]
    return float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 0.0


def espeak_clips(folder: Path, talkers: tuple[Voice, ...] = TALKERS,
                 lines: tuple[str, ...] = INTERRUPTIONS) -> tuple[SpokenClip, ...]:
    """Each line said by the talkers in turn (line i by talker i % len(talkers)), scaled to the LibriVox
    clips' voiced loudness and written to `folder` as 16 kHz WAVs."""
    folder.mkdir(parents=True, exist_ok=True)
    target = float(np.median([voiced_rms(c.audio) for c in librivox_clips()]))
    clips = []
    for i, text in enumerate(lines):
        voice = talkers[i % len(talkers)]
        audio = speak(text, voice, TAIL_S)
        gain = target / (voiced_rms(audio) or 1.0)
        audio = np.clip(audio * gain, -0.99, 0.99).astype(np.float32)
        path = folder / f"espeak{i}_{voice.name}.wav"
        soundfile.write(str(path), audio, SAMPLE_RATE, subtype="PCM_16")
        clips.append(SpokenClip(path, text, audio))
    return tuple(clips)
