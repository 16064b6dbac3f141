"""Voice activity: Silero VAD on onnxruntime, a speech probability per 32 ms frame.

`SileroVad` runs the bundled Silero ONNX model directly (not `import silero_vad`, which would set
torch to one thread for the whole process). It is streaming: it keeps the model's recurrent state
and the last 64 samples of context that the model expects before each 512-sample frame at 16 kHz.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from labvoice.models import resolve_model

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512          # the model's frame at 16 kHz (32 ms)
CONTEXT_SAMPLES = 64         # samples of the previous frame the model sees before each frame at 16 kHz
STATE_SHAPE = (2, 1, 128)    # the model's recurrent state (v5/v6)


class SileroVad:
    """Streaming speech probability per 512-sample 16 kHz frame. One owner thread."""

    def __init__(self, model_path: str | Path) -> None:
        import onnxruntime

        # One thread, no spinning: a 32 ms frame gains nothing from a second thread, and
        # onnxruntime's idle workers busy-wait between frames, which slowed Whisper running beside
        # the VAD from ~450 to ~610 ms per utterance on 2 cores (measured; 1 thread, no spin: ~425).
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: the model's initialisers trigger harmless warnings
        self._session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input", "state", "sr"}:
            raise ValueError(f"{model_path}: not a Silero VAD v5/v6 model (inputs {sorted(names)})")
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self._input = np.zeros((1, CONTEXT_SAMPLES + FRAME_SAMPLES), dtype=np.float32)
        self.reset()

    @classmethod
    def from_config(cls, config) -> "SileroVad":
        return cls(resolve_model("vad", config.vad.model, config.paths.models))

    def reset(self) -> None:
        """Forget the past (new stream)."""
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._input[:] = 0.0

    def __call__(self, frame: np.ndarray) -> float:
        """Probability (0..1) that this 512-sample frame is speech."""
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"VAD frame must be {FRAME_SAMPLES} samples at {SAMPLE_RATE} Hz, got {frame.shape}")
        # Slide: the last 64 samples of the previous frame become this frame's context.
        self._input[0, :CONTEXT_SAMPLES] = self._input[0, -CONTEXT_SAMPLES:]
        self._input[0, CONTEXT_SAMPLES:] = frame
        prob, self._state = self._session.run(None, {"input": self._input, "state": self._state, "sr": self._sr})
        return float(prob[0, 0])
