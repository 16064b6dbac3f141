"""Read and write WAV files as float32 mono, whatever their rate, channels or sample format.

Uses `soundfile` (libsndfile), never torchaudio (CUDA-linked here, it fails to import). Anything
that is not a readable WAV with at least one sample raises `AudioFileError` with one line naming
the file and the problem, which the CLI shows as-is.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import soundfile

from labvoice.audio.resample import resample
from labvoice.errors import LabvoiceError

log = logging.getLogger(__name__)

WAV_FORMATS = frozenset({"WAV", "WAVEX", "RF64"})   # libsndfile's names for RIFF/WAVE containers
DEFAULT_SUBTYPE = "PCM_16"                           # what every player and paplay accept
FULL_SCALE = 1.0                                     # float audio is clipped to [-1, 1] on write


class AudioFileError(LabvoiceError, ValueError):
    """An audio file could not be used; the message is one line naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__("audio_file", message)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Samples as float32 mono in [-1, 1] (channels averaged) and the file's sample rate."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file (0 bytes), expected a WAV")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise AudioFileError(f"{path}: not a readable WAV file ({_reason(err)})") from None
    if info.format not in WAV_FORMATS:
        raise AudioFileError(f"{path}: is {info.format_info or info.format}, not a WAV file; convert it, "
                             f"e.g. sox '{path.name}' out.wav")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioFileError(f"{path}: corrupt WAV data ({_reason(err)})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: WAV has no audio samples")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise AudioFileError(f"{path}: WAV contains NaN or infinite samples")
    log.debug("read %s: %d samples, %d Hz, %d channels, %s", path, data.shape[0], rate, data.shape[1], info.subtype)
    return np.ascontiguousarray(mono, dtype=np.float32), int(rate)


def to_pipeline_rate(audio: np.ndarray, sample_rate: int, target_rate: int = 16000) -> np.ndarray:
    """Resample float32 mono audio to the pipeline rate (a copy only when the rates differ)."""
    return resample(audio, sample_rate, target_rate)


def read_for_pipeline(path: str | os.PathLike, target_rate: int = 16000) -> np.ndarray:
    """`read_wav` + `to_pipeline_rate`: what `ask --wav` and the tests need."""
    audio, rate = read_wav(path)
    return to_pipeline_rate(audio, rate, target_rate)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str = DEFAULT_SUBTYPE) -> Path:
    """Write float audio (mono, or frames x channels) as a WAV; values are clipped to [-1, 1]."""
    path = Path(path)
    data = np.clip(np.asarray(audio, dtype=np.float32), -FULL_SCALE, FULL_SCALE)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, int(sample_rate), subtype=subtype, format="WAV")
    return path


def _reason(err: Exception) -> str:
    """libsndfile's message without the file name it repeats, on one line."""
    text = str(err).replace("\n", " ").strip()
    if "Error :" in text:  # "Error opening 'x': Format not recognised." -> "Format not recognised."
        text = text.split("Error :", 1)[-1].strip()
    elif ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[-1].strip()
    return text.rstrip(".") or type(err).__name__
