"""Piper text-to-speech (CPU profile): one voice, float32 chunks of ~150 ms, style-aware.

Piper synthesizes a whole sentence at once (real-time factor ~0.07 on 2 cores); we cut each
sentence's audio into short pieces so the cancel token is checked often and playback can start
on the first piece. The onnxruntime session is built here (not by `PiperVoice.load`) so its thread
count follows `config.threads`. The style sliders move the voice around the configured base:
energy speeds it up (`length_scale` down) and varies rhythm (`noise_w_scale`), warmth adds
expressiveness (`noise_scale`).

Memory: onnxruntime's CPU arena keeps the high-water mark of every run, and a sentence's
tensors grow with its length (the decoder's for a 40-word sentence take ~350 MB), so each new
longest answer raised RSS for good: the soak's steps. The session shrinks its arena after each
run (`memory.enable_memory_arena_shrinkage`): 40 sentences of 3-40 words end at +92 MB instead
of +356 MB, at the same speed (measured on the 2-core box; tests/tts/test_piper.py pins it).
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from labvoice.cancel import NEVER, CancelToken
from labvoice.models import resolve_model
from labvoice.style import Style

log = logging.getLogger(__name__)

ARENA_SHRINKAGE = ("memory.enable_memory_arena_shrinkage", "cpu:0")   # free the arena's growth after each run
PIECE_MS = 150             # yield audio in pieces this long: cancel latency and playback start granularity
# Slider effects, as the fraction of the base value reached at a slider end (0 or 1); 0.5 = base.
ENERGY_LENGTH_SPAN = 0.25  # energy 1 -> 25 % shorter phonemes (faster), energy 0 -> 25 % longer
ENERGY_NOISE_W_SPAN = 0.25 # energy varies phoneme-duration noise (livelier rhythm)
WARMTH_NOISE_SPAN = 0.3    # warmth varies generator noise (more expressive)
NEUTRAL = 0.5


@dataclass(frozen=True)
class PiperParams:
    """Base synthesis values (config tts.piper)."""

    length_scale: float = 1.0
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8


def _around(base: float, slider: float, span: float) -> float:
    """base scaled by up to ±span as the slider moves from 0.5 to 1 (or 0)."""
    return base * (1.0 + span * 2.0 * (slider - NEUTRAL))


class _ShrinkingRuns:
    """What `PiperVoice` uses of its session (`run(None, feeds)`, piper/voice.py), each run giving
    the arena's growth back afterwards so a long sentence does not keep its tensors' memory."""

    def __init__(self, session, run_options) -> None:
        self.session = session
        self.run_options = run_options

    def run(self, output_names, input_feed):
        return self.session.run(output_names, input_feed, self.run_options)


class PiperSynthesizer:
    """Implements `Synthesizer`. `synthesize` is a generator: run it in the thread that does TTS."""

    def __init__(self, model_path: str | Path, params: PiperParams = PiperParams(), threads: int = 1) -> None:
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as err:
            raise ImportError(f"Piper TTS needs {err.name}; install it with: pip install piper-tts") from None
        model_path = Path(model_path)
        config_path = Path(f"{model_path}.json")
        if not config_path.is_file():
            raise FileNotFoundError(f"Piper voice config {config_path} not found beside {model_path.name}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting between pieces: the LLM and Whisper need those cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        run_options = onnxruntime.RunOptions()
        run_options.add_run_config_entry(*ARENA_SHRINKAGE)
        voice_config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        self._voice = PiperVoice(session=_ShrinkingRuns(session, run_options), config=voice_config)
        self.params = params
        self.sample_rate = int(voice_config.sample_rate)
        self.piece_samples = int(self.sample_rate * PIECE_MS / 1000)
        self.model_path = model_path
        log.info("Piper voice %s loaded (%d Hz, %d threads)", model_path.name, self.sample_rate, threads)

    @classmethod
    def from_config(cls, config) -> "PiperSynthesizer":
        piper = config.tts.piper
        path = resolve_model("tts", piper.voice, config.paths.models)
        params = PiperParams(piper.length_scale, piper.noise_scale, piper.noise_w_scale)
        return cls(path, params, threads=config.threads)

    def with_params(self, params: PiperParams) -> "PiperSynthesizer":
        """The same loaded voice with other base values (noise 0 makes the output deterministic)."""
        twin = copy.copy(self)
        twin.params = params
        return twin

    def synthesis_config(self, style: Style):
        from piper import SynthesisConfig

        return SynthesisConfig(
            length_scale=_around(self.params.length_scale, style.energy, -ENERGY_LENGTH_SPAN),
            noise_scale=_around(self.params.noise_scale, style.warmth, WARMTH_NOISE_SPAN),
            noise_w_scale=_around(self.params.noise_w_scale, style.energy, ENERGY_NOISE_W_SPAN),
        )

    def synthesize(self, text: str, style: Style = Style(), cancel: CancelToken = NEVER) -> Iterator[np.ndarray]:
        """float32 mono pieces of ~PIECE_MS at `sample_rate`; stops quietly once `cancel` is set."""
        if cancel.cancelled or not text.strip():
            return
        syn_config = self.synthesis_config(style)
        for chunk in self._voice.synthesize(text, syn_config=syn_config):  # one sentence per chunk
            audio = chunk.audio_float_array
            for start in range(0, len(audio), self.piece_samples):
                if cancel.cancelled:
                    return
                yield np.ascontiguousarray(audio[start:start + self.piece_samples], dtype=np.float32)
            if cancel.cancelled:
                return

    def synthesize_all(self, text: str, style: Style = Style()) -> np.ndarray:
        """The whole text as one float32 array (tests, benchmarks, `ask --wav` inputs)."""
        pieces = list(self.synthesize(text, style))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def synthesize_to_wav(self, text: str, path: str | Path, style: Style = Style(),
                          pad_s: tuple[float, float] = (0.0, 0.0)) -> Path:
        """Speak `text` into a 16-bit WAV at the voice's rate, with optional silence before/after."""
        from labvoice.audio.wavio import write_wav

        audio = self.synthesize_all(text, style)
        before = np.zeros(int(pad_s[0] * self.sample_rate), dtype=np.float32)
        after = np.zeros(int(pad_s[1] * self.sample_rate), dtype=np.float32)
        return write_wav(path, np.concatenate((before, audio, after)), self.sample_rate)
