"""Is what is left on the echo-cancelled microphone still our own voice? `ResidualEchoMeter` answers
per frame with the share of the cleaned frame's energy that a delayed, scaled copy of the far-end
reference explains (the squared normalized cross-correlation, best delay within MAX_LAG_S).

Why not "how much the canceller removed": during double talk the canceller removes a lot of echo
from a frame whose remainder is the person's voice, so a frame with 15-50 dB removed can still be
the person (measured through the test echo path: the talker's frames had 0-35 dB removed and
broke every "mostly echo" run). And when the canceller loses the echo path (seen under heavy load:
the reference's time stamps jump, AEC3 then removes 0-10 dB for seconds) the residue is our own
speech at full level, which the VAD calls speech with p ~1. In both cases what tells them apart
is whether the remainder looks like the reference: the echo residue correlates with it (0.5-1
through the test path: a share of 0.25-1), a person's voice does not (share p90 ~0.04 against real
speech, tests/audio/test_residual.py).

Known limit: a single delay explains a loopback or a direct path well; in a reverberant room the
echo's share is lower, so the rule leans to "a person" there when the canceller itself fails.
"""
from __future__ import annotations

import numpy as np

WINDOW_S = 0.2               # cleaned audio judged at once (a syllable or two; one 32 ms frame is too noisy)
MAX_LAG_S = 0.35             # the echo's delay behind its reference: room + output/input buffers
# ... or ahead of it: the reference's DAC-time stamps can run late (seen after an answer's first
# audio: the echo reached the mic while its reference was still stamped in the future, so the
# reference looked silent and the echo was taken for a person).
LOOKAHEAD_S = 0.15
MIN_OUT_RMS = 1e-3           # a quieter cleaned window is nobody's voice: not judged
MIN_FAR_RMS = 1e-3           # nothing was playing: the remainder cannot be our echo
PRE_EMPHASIS = 0.97          # y[n] = x[n] - 0.97 x[n-1] on both sides before correlating


class ResidualEchoMeter:
    """Feed each cleaned frame with the reference around it (`far_start(t_end)`, `far_span`
    samples: from MAX_LAG_S + WINDOW_S before the frame's end to LOOKAHEAD_S after it); `add`
    returns the frame's echo share (0..1), or None when there is nothing to judge (silence on
    either side). One owner thread (the capture's)."""

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self.window = round(WINDOW_S * sample_rate)
        self.max_lag = round(MAX_LAG_S * sample_rate)
        self.far_span = self.window + self.max_lag + round(LOOKAHEAD_S * sample_rate)
        self._out = np.zeros(self.window, dtype=np.float32)
        self._n_fft = 1 << int(np.ceil(np.log2(self.window + self.far_span)))
        self._last_out = 0.0

    def far_start(self, t_end: float) -> float:
        """Time of the first reference sample `add` wants for a frame ending at `t_end`."""
        return t_end - (self.window + self.max_lag) / self.sample_rate

    def reset(self) -> None:
        """The stream broke (mute, overflow): forget the history."""
        self._out[:] = 0.0
        self._last_out = 0.0

    def add(self, cleaned: np.ndarray, far: np.ndarray) -> float | None:
        _shift_in(self._out, _emphasize(cleaned, self._last_out))
        if cleaned.size:
            self._last_out = float(cleaned[-1])
        out, ref = self._out, _emphasize(far, 0.0)
        out_energy = float(np.dot(out, out))
        if out_energy < MIN_OUT_RMS ** 2 * out.size or float(np.dot(ref, ref)) < MIN_FAR_RMS ** 2 * out.size:
            return None
        # corr[k] = sum_i out[i] * ref[i + k]: out[i] is ref[i + k] delayed by max_lag - k (< 0: stamps late).
        lags = ref.size - out.size + 1
        spectrum = np.conj(np.fft.rfft(out, self._n_fft)) * np.fft.rfft(ref, self._n_fft)
        corr = np.fft.irfft(spectrum, self._n_fft)[:lags]
        squares = np.concatenate(([0.0], np.cumsum(ref.astype(np.float64) ** 2)))
        ref_energy = squares[self.window:self.window + lags] - squares[:lags]
        share = corr ** 2 / (out_energy * np.maximum(ref_energy, 1e-12))
        return float(min(1.0, np.max(share)))


def _emphasize(x: np.ndarray, previous: float) -> np.ndarray:
    """First-order pre-emphasis: speech's strong low frequencies make two unrelated voices
    correlate by chance (measured: a share up to ~0.26 unfiltered); flattened, they do not."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty_like(x)
    if x.size:
        out[0] = x[0] - PRE_EMPHASIS * previous
        out[1:] = x[1:] - PRE_EMPHASIS * x[:-1]
    return out


def _shift_in(history: np.ndarray, new: np.ndarray) -> None:
    n = min(new.size, history.size)
    if n == 0:
        return
    history[:-n] = history[n:]
    history[-n:] = new[-n:]
