"""Session fixtures for the audio, VAD, STT and TTS tests (a pytest plugin).

Register from the top-level conftest: ``pytest_plugins = ["tests.support.fixtures"]``.

The virtual PulseAudio devices are started in `pytest_configure`, i.e. before any test module is
collected (imported), because PortAudio reads the audio setup once, when `sounddevice` is first
imported (see labvoice/benchmarks/pulse.py). Everything expensive (the daemon, the Piper voice, the
Whisper model, the VAD session, synthesized questions) is created once per session.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from labvoice.benchmarks.pulse import VirtualAudio, VirtualAudioError, start_virtual_audio

_state: dict[str, object] = {}

# Questions spoken by Piper for the VAD and STT tests (tiny.en hears these with WER 0 whether or
# not Piper's noise is on; "How many runs used the small model?" came out as "you use" at times).
QUESTIONS = (
    "Which run had the best validation accuracy last week?",
    "Show me the learning rate of the most recent run.",
    "Which experiment finished most recently, and what was its accuracy?",
)
PAD_BEFORE_S = 1.0
PAD_AFTER_S = 1.2
TRUTH_LEVEL = 0.02   # |sample| above this (of a peak-normalised voice) counts as speech for ground truth


def pytest_configure(config) -> None:
    if "virtual_audio" in _state or "virtual_audio_error" in _state:
        return
    if "sounddevice" in sys.modules:
        _state["virtual_audio_error"] = VirtualAudioError(
            "sounddevice was imported before the virtual audio devices started; import it lazily")
        return
    root = Path(tempfile.mkdtemp(prefix="labvoice-audio-"))
    _state["virtual_audio_root"] = root
    try:
        _state["virtual_audio"] = start_virtual_audio(root)
    except (VirtualAudioError, OSError) as err:
        _state["virtual_audio_error"] = err


def pytest_unconfigure(config) -> None:
    audio = _state.pop("virtual_audio", None)
    if isinstance(audio, VirtualAudio):
        audio.stop()
    root = _state.pop("virtual_audio_root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def virtual_audio() -> VirtualAudio:
    """The running virtual devices: mic `vmic` (fed by play_into_mic), speaker `vspk` (recorded)."""
    error = _state.get("virtual_audio_error")
    if error is not None:
        raise error
    return _state["virtual_audio"]


@pytest.fixture(scope="session")
def audio_test_config(virtual_audio):
    """The repo's config on the CPU profile, pointed at the virtual devices."""
    from labvoice.config import load_config

    return load_config(environ={}).replace(**{"profile": "cpu", "audio.input_device": virtual_audio.input_device,
                                             "audio.output_device": virtual_audio.output_device})


@pytest.fixture(scope="session")
def cpu_config():
    """The repo's config on the CPU profile, without environment overrides."""
    from labvoice.config import load_config

    return load_config(environ={}).replace(profile="cpu")


@pytest.fixture(scope="session")
def piper_synthesizer(cpu_config):
    from labvoice.tts.piper import PiperSynthesizer

    return PiperSynthesizer.from_config(cpu_config)


@pytest.fixture(scope="session")
def whisper_transcriber(cpu_config):
    from labvoice.stt.faster_whisper import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber.from_config(cpu_config, "cpu")
    transcriber.warmup()
    return transcriber


@pytest.fixture(scope="session")
def silero_vad(cpu_config):
    from labvoice.listening.vad import SileroVad

    return SileroVad.from_config(cpu_config)


@dataclass(frozen=True)
class SpokenQuestion:
    text: str
    path: Path              # WAV at the voice's rate, padded with silence
    sample_rate: int
    speech_start_s: float   # ground truth, seconds into the file
    speech_end_s: float


@pytest.fixture(scope="session")
def spoken_questions(piper_synthesizer, tmp_path_factory) -> list[SpokenQuestion]:
    """QUESTIONS as Piper WAVs padded with silence, with where the speech really is."""
    from labvoice.audio.wavio import write_wav
    from labvoice.tts.piper import PiperParams

    # Noise off: Piper's output is then the same on every run, so the tests are too.
    voice = piper_synthesizer.with_params(PiperParams(length_scale=1.0, noise_scale=0.0, noise_w_scale=0.0))
    folder = tmp_path_factory.mktemp("questions")
    rate = voice.sample_rate
    questions = []
    for i, text in enumerate(QUESTIONS):
        speech = voice.synthesize_all(text)
        loud = np.nonzero(np.abs(speech) > TRUTH_LEVEL)[0]
        audio = np.concatenate([np.zeros(int(PAD_BEFORE_S * rate), np.float32), speech,
                                np.zeros(int(PAD_AFTER_S * rate), np.float32)])
        path = write_wav(folder / f"question_{i}.wav", audio, rate)
        questions.append(SpokenQuestion(text, path, rate, PAD_BEFORE_S + loud[0] / rate,
                                        PAD_BEFORE_S + (loud[-1] + 1) / rate))
    return questions
