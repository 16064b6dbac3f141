"""Voices other than the app's own for the hearing rig (issue 19): espeak-ng voices and variants at several
speeds and pitches, some with light room reverb or noise, resampled to 16 kHz mono float32 as the
listener hands utterances to speech recognition; as references, the app's own Piper voice (what every spoken
test used before) and an espeak-ng talker over a real person reading aloud in the room (LibriVox,
benchmarks/human_speech.py: a person's voice cannot say our questions, but can talk over them).
Deterministic: noise, babble and reverb come from a seeded RNG; Piper speaks without its sampling noise.
"""
from __future__ import annotations

import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000
PAD_S = 0.3                  # silence either side, as an endpointed utterance has
ESPEAK_TIMEOUT_S = 30
DIRECT_TO_REVERB_DB = 6.0


@dataclass(frozen=True)
class Voice:
    """One speaker of the rig. `espeak` is an espeak-ng voice name (with a `+variant`), `speed` in words
    per minute, `pitch` 0-99; `snr_db` adds white noise at that signal-to-noise ratio; `reverb_s` a
    room tail with that RT60; `babble_snr_db` a LibriVox reader talking in the background that far below
    the speech. `engine` "piper" is the app's own voice (`espeak` and `pitch` unused; `speed` 160 is
    Piper's own rate)."""

    name: str
    espeak: str
    speed: int = 160
    pitch: int = 50
    snr_db: float | None = None
    reverb_s: float = 0.0
    engine: str = "espeak"
    babble_snr_db: float | None = None


PIPER_WPM = 160

VOICES: tuple[Voice, ...] = (
    Voice("us-m3", "en-us+m3", 150, 45),
    Voice("gb", "en-gb", 135, 40),
    Voice("us-f2-noise", "en-us+f2", 170, 60, snr_db=30.0),
    Voice("gb-rp-room", "en-gb-x-rp", 150, 50, reverb_s=0.3),
    Voice("scottish", "en-gb-scotland", 155, 45),
)

# References, not tuned on: the voice every spoken test used before issue 19 (it should hear about as well
# as typed), and a person reading aloud in the room behind an espeak-ng talker.
REFERENCE_VOICES: tuple[Voice, ...] = (
    Voice("piper-joe", "", engine="piper"),
    Voice("us-m3-babble", "en-us+m3", 150, 45, babble_snr_db=12.0),
)


def speak(text: str, voice: Voice, tail_s: float = PAD_S) -> np.ndarray:
    """`text` said by `voice`: 16 kHz mono float32 with PAD_S of silence before and `tail_s` after (the
    room's noise or talker goes on through both)."""
    audio = _piper(text, voice.speed) if voice.engine == "piper" else _espeak(text, voice)
    return _in_the_room(audio, voice, f"{voice.name}|{text}", tail_s)


@dataclass(frozen=True)
class PausedSaying:
    """A question said with a pause inside it: `pause` (start, end) and `speech_end_s` in seconds."""

    audio: np.ndarray
    speech_end_s: float
    pause: tuple[float, float] | None


def speak_paused(text: str, voice: Voice, after: int | None, pause_s: float, tail_s: float) -> PausedSaying:
    """`text` said by an espeak-ng `voice` in one breath, with `pause_s` of silence after its first `after`
    words (an SSML break: the sentence goes on after it, it is not said as two sentences), or whole
    (`after` None). The pause is found as the longest quiet stretch of the dry speech."""
    if voice.engine != "espeak":
        raise ValueError(f"{voice.name}: only espeak-ng voices say a question with a pause in it")
    words = text.split()
    said = text if after is None else (f'<speak>{" ".join(words[:after])} <break time="{round(pause_s * 1000)}ms"/> '
                                       f'{" ".join(words[after:])}</speak>')
    dry = _espeak(said, voice, ssml=after is not None)
    loud = np.nonzero(np.abs(dry) > 0.01)[0]
    dry = dry[loud[0]:loud[-1] + 1]
    pause = None
    if after is not None:
        start, length = _longest_quiet(dry)
        pause = (PAD_S + start / SAMPLE_RATE, PAD_S + (start + length) / SAMPLE_RATE)
    audio = _in_the_room(dry, voice, f"{voice.name}|{said}", tail_s)
    return PausedSaying(audio, PAD_S + dry.size / SAMPLE_RATE, pause)


def _longest_quiet(audio: np.ndarray, hop: int = 160, level: float = 0.005) -> tuple[int, int]:
    """(first sample, length) of the longest run of 10 ms hops whose peak is below `level`."""
    quiet = [float(np.max(np.abs(audio[i:i + hop]))) < level for i in range(0, audio.size - hop + 1, hop)]
    best, run_start, best_start = 0, 0, 0
    for i, q in enumerate(quiet + [False]):
        if not q:
            if i - run_start > best:
                best, best_start = i - run_start, run_start
            run_start = i + 1
    return best_start * hop, best * hop


def _in_the_room(audio: np.ndarray, voice: Voice, key: str, tail_s: float) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    if voice.reverb_s > 0:
        audio = reverberate(audio, voice.reverb_s, rng)
    audio = np.concatenate([np.zeros(int(PAD_S * SAMPLE_RATE), np.float32), audio,
                            np.zeros(int(tail_s * SAMPLE_RATE), np.float32)])
    if voice.babble_snr_db is not None:
        audio = with_babble(audio, voice.babble_snr_db, rng)
    if voice.snr_db is not None:
        audio = with_noise(audio, voice.snr_db, rng)
    peak = float(np.max(np.abs(audio))) or 1.0
    return (audio * min(1.0, 0.9 / peak)).astype(np.float32)


def _espeak(text: str, voice: Voice, ssml: bool = False) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="labvoice-voice-") as folder:
        wav = Path(folder) / "said.wav"
        subprocess.run(["espeak-ng", "-v", voice.espeak, "-s", str(voice.speed), "-p", str(voice.pitch)]
                       + (["-m"] if ssml else []) + ["-w", str(wav), text],
                       check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return audio


@lru_cache(maxsize=1)
def _piper_voice():
    from piper import PiperVoice

    from labvoice.models import bundled_path

    return PiperVoice.load(str(bundled_path("tts")))


def _piper(text: str, speed: int) -> np.ndarray:
    """The app's own voice (the bundled Piper joe), without sampling noise, trimmed to its speech."""
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=PIPER_WPM / speed, noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(_piper_voice().synthesize(text, config))
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    if chunks[0].sample_rate != SAMPLE_RATE:
        audio = soxr.resample(audio, chunks[0].sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def with_babble(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """A real person reading aloud (the LibriVox clips, from a seeded offset, looped) `snr_db` below the
    speech's power, over the whole utterance: someone talking in the room."""
    from labvoice.benchmarks.human_speech import librivox_clips

    reading = np.concatenate([c.audio for c in librivox_clips()]).astype(np.float32)
    start = int(rng.integers(0, reading.size))
    babble = np.resize(np.roll(reading, -start), audio.size)
    voiced = audio[np.abs(audio) > 1e-4]
    power = float(np.mean(voiced ** 2)) if voiced.size else 1e-6
    talker = float(np.mean(babble[np.abs(babble) > 1e-4] ** 2)) or 1e-6
    return (audio + babble * np.sqrt(power / talker / (10 ** (snr_db / 10)))).astype(np.float32)


def reverberate(audio: np.ndarray, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A small room: the direct sound plus an exponentially decaying noise tail (-60 dB at `rt60_s`),
    DIRECT_TO_REVERB_DB louder than the tail (a talker near the microphone)."""
    from scipy.signal import fftconvolve

    n = int(rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.005 * SAMPLE_RATE)] = 0.0          # first reflections after 5 ms
    tail *= np.sqrt(10 ** (-DIRECT_TO_REVERB_DB / 10) / float(np.sum(tail ** 2)))
    impulse = np.concatenate([[1.0], tail[1:]])
    wet = fftconvolve(audio, impulse)[: len(audio) + n // 2]
    return (wet / (np.max(np.abs(wet)) or 1.0) * np.max(np.abs(audio))).astype(np.float32)


def with_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at `snr_db` below the speech's power (measured where it is not silent)."""
    voiced = audio[np.abs(audio) > 1e-4]
    power = float(np.mean(voiced ** 2)) if voiced.size else 1e-6
    noise = rng.standard_normal(len(audio)) * np.sqrt(power / (10 ** (snr_db / 10)))
    return (audio + noise).astype(np.float32)
