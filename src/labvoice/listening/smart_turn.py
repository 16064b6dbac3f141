"""Smart Turn: has the person finished, judged from how the last seconds sounded?

`SmartTurn` runs Pipecat's Smart Turn v3.2 ONNX model (BSD-2-Clause; the file ships inside the
`pipecat-ai` wheel, installed with --no-deps; only the ONNX file is used, nothing of pipecat is
imported). The model takes Whisper-style log-mel features of the last 8 s of the utterance
(80 mel bands x 800 frames of 10 ms) and returns the probability that the turn is complete.
`log_mel_features` takes them from faster-whisper's own `FeatureExtractor` (numpy; within 1.2e-7
of the hand-written recipe it replaced) on zero-mean unit-variance audio, zeros in front of
shorter audio.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW_S = 8                     # the model sees the last 8 s (zeros in front of shorter audio)
N_MELS = 80
FRAMES = WINDOW_S * SAMPLE_RATE // 160   # 800 frames of 10 ms
NORM_EPS = 1e-7
COMPLETE_AT = 0.5                # the model's own decision threshold (the app's: vad.turn_complete_at)


@lru_cache(maxsize=1)
def _extractor():
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=N_MELS, sampling_rate=SAMPLE_RATE, chunk_length=WINDOW_S)


def mel_filters() -> np.ndarray:
    """(N_MELS, 201) Slaney mel filters of Whisper's recipe (faster-whisper's)."""
    return np.asarray(_extractor().mel_filters, dtype=np.float32)


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """(N_MELS, FRAMES) float32 features of the last WINDOW_S of 16 kHz mono `audio`."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    size = WINDOW_S * SAMPLE_RATE
    window = np.zeros(size, dtype=np.float32)
    tail = audio[-size:]
    window[size - tail.size:] = tail
    window = (window - window.mean()) / np.sqrt(window.var() + NORM_EPS)
    features = _extractor()(window, padding=0)
    return np.ascontiguousarray(features[:, :FRAMES], dtype=np.float32)


class SmartTurn:
    """Probability that an utterance is a finished turn. One owner thread; ~0.1 s per call on CPU."""

    def __init__(self, model_path: str | Path, threads: int = 1, complete_at: float = COMPLETE_AT) -> None:
        import onnxruntime

        self.complete_at = complete_at   # probability above which the turn counts as finished

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle workers steal a core
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "input_features" or list(inputs[0].shape[1:]) != [N_MELS, FRAMES]:
            raise ValueError(f"{model_path}: not a Smart Turn v3 model (inputs "
                             f"{[(i.name, i.shape) for i in inputs]}, expected input_features [batch, 80, 800])")
        self._input = inputs[0].name

    @classmethod
    def from_config(cls, config) -> "SmartTurn":
        from labvoice.models import resolve_model

        return cls(resolve_model("turn", config.vad.turn_model, config.paths.models),
                   complete_at=config.vad.turn_complete_at)

    def probability(self, audio: np.ndarray) -> float:
        """P(the person has finished) for 16 kHz mono audio ending now (speech plus the pause so far)."""
        features = log_mel_features(audio)[None, :, :]
        (prob,) = self._session.run(None, {self._input: features})
        return float(np.asarray(prob).reshape(-1)[0])

    def is_complete(self, audio: np.ndarray) -> bool:
        return self.probability(audio) > self.complete_at


def load_turn_model(config) -> SmartTurn | None:
    """The configured turn model, or None (`vad.turn_model: none`, or it cannot load: said once)."""
    if config.vad.turn_model == "none":
        return None
    try:
        return SmartTurn.from_config(config)
    except Exception as err:  # noqa: BLE001 - missing wheel, bad file: fall back to the fixed silence
        log.warning("end-of-turn model unavailable (%s); turns end after %d ms of silence. Fix: "
                    "pip install --no-deps pipecat-ai==1.14.0 (or make install)", err, config.vad.end_silence_ms)
        return None
