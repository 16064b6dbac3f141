"""Sample-rate conversion with libsoxr (python-soxr): one-shot (whole arrays) and streaming (blocks).

`resample` converts a whole array at soxr's high quality. `StreamingResampler` converts a stream
given in blocks of any size, carrying the filter state so blocks join without clicks. Its output
is aligned with the input's timeline (output sample m describes input time m / rate_out; soxr
removes its own filter delay), but the last few milliseconds of input are held back until later
input (or `flush()`) completes them.

Streaming uses soxr's "LQ" preset: measured here, it rejects a 9 kHz tone folded by 48 -> 16 kHz
by ~109 dB and holds back 1-7 ms, where "HQ" holds back 12-33 ms (a delay the microphone path and
the echo canceller's reference would both pay on every frame).
"""
from __future__ import annotations

import logging
from math import gcd

import numpy as np
import soxr

log = logging.getLogger(__name__)

STREAM_QUALITY = "LQ"      # low holdback, > 100 dB alias rejection (see the module docstring)
ONE_SHOT_QUALITY = "HQ"    # whole arrays: no latency to pay, so the best filter


def _check_rates(rate_in: int, rate_out: int) -> tuple[int, int]:
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    return int(rate_in), int(rate_out)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Whole-array resampling (float32 in, float32 out); returns the input when rates match."""
    rate_in, rate_out = _check_rates(rate_in, rate_out)
    audio = np.asarray(audio, dtype=np.float32)
    if rate_in == rate_out or audio.size == 0:
        return audio
    return soxr.resample(audio, rate_in, rate_out, quality=ONE_SHOT_QUALITY).astype(np.float32, copy=False)


class StreamingResampler:
    """Resample a mono float32 stream given in blocks of any size. Not thread-safe: one owner.

    `process(block)` returns every output sample soxr can complete so far; `flush()` returns the
    rest at the end of a stream (after which the resampler starts a new stream).
    """

    def __init__(self, rate_in: int, rate_out: int, quality: str = STREAM_QUALITY) -> None:
        self.rate_in, self.rate_out = _check_rates(rate_in, rate_out)
        divisor = gcd(self.rate_in, self.rate_out)
        self.up, self.down = self.rate_out // divisor, self.rate_in // divisor
        self.passthrough = self.rate_in == self.rate_out
        self.quality = quality
        self._stream = None if self.passthrough else soxr.ResampleStream(
            self.rate_in, self.rate_out, 1, dtype="float32", quality=quality)

    def reset(self) -> None:
        """Forget the stream so far (what was held back is dropped)."""
        if self._stream is not None:
            self._stream.clear()

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(-1)
        if self._stream is None:
            return block.copy()
        return self._stream.resample_chunk(block)

    def flush(self) -> np.ndarray:
        """The held-back tail of the stream; the next `process()` starts a fresh stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._stream.clear()
        return tail

    @property
    def delay_s(self) -> float:
        """Offset of the output timeline from the input's: 0, soxr aligns them (held-back samples
        arrive late, but each sits where it belongs)."""
        return 0.0

    @property
    def pending_s(self) -> float:
        """How much output soxr holds back right now (it arrives with later input)."""
        if self._stream is None:
            return 0.0
        return float(self._stream.delay()) / self.rate_out

    def output_length(self, input_length: int) -> int:
        """About how many output samples `input_length` input samples produce."""
        return (input_length * self.up) // self.down
