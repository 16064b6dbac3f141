"""Acoustic echo cancellation: the microphone minus what our own speaker played into it.

Two halves meet on the monotonic clock:
- `FarEndReference`: the Speaker's audio callback pushes every block it hands to the device with
  the time that block reaches the DAC (`push`, never blocks). The capture side converts the blocks
  to 16 kHz (soxr, timeline-preserving) into a ring indexed by time, and `read(t, n)` returns what
  was playing at the microphone samples' own capture times. The acoustic path's remaining delay
  (tens of ms in a room, 40-120 ms through the test echo path) is left to the canceller's own
  delay estimator; aligning by time keeps the output buffering and flushes out of its way.
- `EchoCanceller`: WebRTC's AEC3 (PyPI `pywebrtc-audio`) on the 16 kHz microphone stream in 10 ms
  blocks. It runs in the capture callback (measured ~11 ms of CPU per second of audio here) so the
  VAD, barge-in and speech recognition all see the cancelled signal. Output sample i is input
  sample i cleaned; the last < 10 ms wait for the next block.

`make_echo_canceller(config)` returns None (and says why, once) when `audio.echo_canceller` is off
or the canceller cannot load; `effective_barge_in` then falls back from `auto` to `speaker`.
"""
from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

import numpy as np

from labvoice.audio.resample import StreamingResampler

log = logging.getLogger(__name__)

AEC_BLOCK = 160              # 10 ms at 16 kHz: the canceller's unit; anything else would be zero-padded
RING_S = 4.0                 # reference history kept (mic frames arrive < 0.2 s after the speaker's push)
REANCHOR_S = 0.02            # blocks this far off the running sample clock (an underrun, a restart) ...
REANCHOR_BLOCKS = 3          # ... this many in a row, on the same side, re-anchor it; one alone is jitter
JUMP_S = 0.1                 # a block this far off re-anchors at once (the stream started again)
INBOX_BLOCKS = 2048          # blocks the audio thread may queue before the oldest are dropped (~10 s)
FAR_ACTIVE_RMS = 1e-3        # a 10 ms reference block louder than this counts for the ERLE figure
RECENT_S = 6.0               # microphone, reference and output kept for `recent()` (diagnostics)

_warned: set[str] = set()    # reasons already reported ("say so once" per process)
_warn_lock = threading.Lock()


class FarEndReference:
    """What the speaker played, on the monotonic clock, at `sample_rate`.

    `push()` is for the audio thread (a deque append); `read()` for one consumer thread.
    """

    def __init__(self, sample_rate: int = 16000, ring_s: float = RING_S) -> None:
        self.sample_rate = sample_rate
        self._inbox: collections.deque[tuple[float, np.ndarray, int]] = collections.deque(maxlen=INBOX_BLOCKS)
        self._ring = np.zeros(int(ring_s * sample_rate), dtype=np.float32)
        self._origin: float | None = None      # time of ring index 0
        self._written_to = 0                   # ring indices below this hold reference samples
        self._resampler: StreamingResampler | None = None
        self._anchor_t = 0.0                   # time of the first input sample since the last anchor
        self._anchor_index = 0                 # ring index of that sample
        self._in_samples = 0                   # device-rate samples since the anchor
        self._out_samples = 0                  # resampled samples written since the anchor
        self.reanchors = 0                     # clock jumps followed (flushes, restarts; diagnostics)
        self._off_clock: list[float] = []      # offsets of the latest blocks in a row beyond REANCHOR_S
        self.offsets: collections.deque[float] = collections.deque(maxlen=2048)  # DAC time - sample clock (s)

    # -- audio thread ----------------------------------------------------------------------
    def push(self, t_dac: float, block: np.ndarray, rate: int) -> None:
        """`block` (mono float32, a copy the caller will not touch again) reaches the DAC at t_dac."""
        self._inbox.append((t_dac, block, rate))

    # -- consumer thread -------------------------------------------------------------------
    def read(self, t_start: float, count: int) -> np.ndarray:
        """The reference for `count` samples from time `t_start`; silence where nothing was played."""
        self._drain()
        out = np.zeros(count, dtype=np.float32)
        if self._origin is None:
            return out
        first = int(round((t_start - self._origin) * self.sample_rate))
        lo = max(first, self._written_to - self._ring.size, 0)
        hi = min(first + count, self._written_to)
        if hi > lo:
            out[lo - first:hi - first] = self._take(lo, hi)
        return out

    def _take(self, lo: int, hi: int) -> np.ndarray:
        size = self._ring.size
        a, b = lo % size, hi % size
        if a < b or hi - lo == 0:
            return self._ring[a:a + hi - lo]
        return np.concatenate((self._ring[a:], self._ring[:b]))

    def _drain(self) -> None:
        while self._inbox:
            t_dac, block, rate = self._inbox.popleft()
            self._append(t_dac, block, rate)

    def _append(self, t_dac: float, block: np.ndarray, rate: int) -> None:
        if self._origin is None:
            self._origin = t_dac
        expected = self._anchor_t + self._in_samples / rate
        offset = t_dac - expected
        self.offsets.append(offset)
        if self._resampler is None or self._resampler.rate_in != rate:
            self._resampler = StreamingResampler(rate, self.sample_rate)
            self._anchor(t_dac)
        elif abs(offset) > JUMP_S or self._off_clock_for(offset) >= REANCHOR_BLOCKS:
            # Under load PortAudio's DAC times jitter by +-15 ms around a clock that did not move
            # (measured p5/p95 through PulseAudio); following each one shifted the reference by
            # that much and the canceller lost the echo (ERLE down to 2-10 dB for seconds).
            # A real jump (an underrun, a restart) keeps every later block off to the same side.
            self._resampler.reset()
            self._anchor(t_dac if abs(offset) > JUMP_S else expected + float(np.median(self._off_clock)))
        converted = self._resampler.process(block)
        self._in_samples += block.size
        if converted.size:
            self._write(self._anchor_index + self._out_samples, converted)
            self._out_samples += converted.size

    def _off_clock_for(self, offset: float) -> int:
        """How many blocks in a row (this one included) were off the clock by REANCHOR_S, same side."""
        if abs(offset) <= REANCHOR_S or (self._off_clock and (offset > 0) != (self._off_clock[-1] > 0)):
            self._off_clock = []
        if abs(offset) > REANCHOR_S:
            self._off_clock.append(offset)
        return len(self._off_clock)

    def _anchor(self, t_first: float) -> None:
        self.reanchors += 1
        self._off_clock = []
        self._anchor_t = t_first
        self._anchor_index = int(round((t_first - self._origin) * self.sample_rate))
        self._in_samples = self._out_samples = 0

    def _write(self, start: int, samples: np.ndarray) -> None:
        size = self._ring.size
        if start > self._written_to:  # a gap (nothing played): silence, not what the ring held before
            self._fill(self._written_to, min(start, self._written_to + size), None)
        self._fill(start, start + samples.size, samples[-size:] if samples.size > size else samples)
        self._written_to = max(self._written_to, start + samples.size)

    def _fill(self, lo: int, hi: int, samples: np.ndarray | None) -> None:
        size = self._ring.size
        lo = max(lo, hi - size)
        if hi <= lo:
            return
        a = lo % size
        first = min(hi - lo, size - a)
        data = np.zeros(hi - lo, dtype=np.float32) if samples is None else samples[-(hi - lo):]
        self._ring[a:a + first] = data[:first]
        self._ring[:hi - lo - first] = data[first:]


@dataclass(frozen=True)
class EchoStats:
    """Energy into and out of the canceller while the reference was sounding."""

    far_active_s: float
    near_energy: float
    out_energy: float

    @property
    def erle_db(self) -> float | None:
        """Echo return loss enhancement; None before anything was played."""
        if self.far_active_s <= 0 or self.near_energy <= 0:
            return None
        return float(10 * np.log10(self.near_energy / max(self.out_energy, 1e-12)))

    def since(self, earlier: "EchoStats") -> "EchoStats":
        return EchoStats(self.far_active_s - earlier.far_active_s, self.near_energy - earlier.near_energy,
                         self.out_energy - earlier.out_energy)


class EchoCanceller:
    """WebRTC AEC3 on a contiguous 16 kHz microphone stream. One owner thread (the capture's)."""

    def __init__(self, reference: FarEndReference, sample_rate: int = 16000) -> None:
        from pywebrtc_audio import EchoCanceller as Aec3  # optional runtime: make_echo_canceller reports its absence

        self.reference = reference
        self.sample_rate = sample_rate
        self._aec = Aec3(sample_rate=sample_rate, num_channels=1, stream_delay_ms=0)
        self._pending = np.zeros(0, dtype=np.float32)
        self._t_pending = 0.0                  # capture time of the first pending sample
        self._stats = EchoStats(0.0, 0.0, 0.0)
        self._recent: collections.deque[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = collections.deque(
            maxlen=max(1, int(RECENT_S * sample_rate / (AEC_BLOCK * 3))))

    def process(self, samples: np.ndarray, t_first: float) -> np.ndarray:
        """Cancel echo in `samples` (captured from `t_first` on, continuing the previous call's
        stream). Returns the cleaned samples that complete a 10 ms block: output sample i is the
        stream's input sample i."""
        if self._pending.size == 0:
            self._t_pending = t_first
            near = np.asarray(samples, dtype=np.float32)
        else:
            near = np.concatenate((self._pending, samples))
        usable = near.size - near.size % AEC_BLOCK
        if usable == 0:
            self._pending = near.copy()
            return np.zeros(0, dtype=np.float32)
        far = self.reference.read(self._t_pending, usable)
        cleaned = self._aec.process(np.ascontiguousarray(near[:usable]), far)
        self._count(near[:usable], far, cleaned)
        self._recent.append((self._t_pending, near[:usable].copy(), far, cleaned))
        self._pending = near[usable:].copy()
        self._t_pending += usable / self.sample_rate
        return cleaned

    def drop_pending(self) -> None:
        """The stream broke (mute, overflow, restart): the next call starts a new one."""
        self._pending = np.zeros(0, dtype=np.float32)

    def _count(self, near: np.ndarray, far: np.ndarray, cleaned: np.ndarray) -> None:
        blocks = near.size // AEC_BLOCK
        far_rms = np.sqrt(np.mean(far.reshape(blocks, AEC_BLOCK) ** 2, axis=1))
        active = far_rms > FAR_ACTIVE_RMS
        if not active.any():
            return
        near_e = float(np.sum(near.reshape(blocks, AEC_BLOCK)[active] ** 2))
        out_e = float(np.sum(cleaned.reshape(blocks, AEC_BLOCK)[active] ** 2))
        s = self._stats
        self._stats = EchoStats(s.far_active_s + active.sum() * AEC_BLOCK / self.sample_rate,
                                s.near_energy + near_e, s.out_energy + out_e)

    def recent(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The last few seconds: (capture time of the first sample, microphone, reference, output),
        for looking into a failure; may be a block behind the capture thread."""
        blocks = list(self._recent)
        if not blocks:
            empty = np.zeros(0, dtype=np.float32)
            return 0.0, empty, empty, empty
        return (blocks[0][0], *(np.concatenate([b[i] for b in blocks]) for i in (1, 2, 3)))

    @property
    def stats(self) -> EchoStats:
        """A snapshot (safe to read from another thread: the value is replaced, never changed)."""
        return self._stats


def make_echo_canceller(config) -> EchoCanceller | None:
    """The configured canceller, or None: off by configuration, or it cannot load (said once)."""
    choice = config.audio.echo_canceller
    if choice in ("none", "system"):   # system: the sound server cancels (audio/system_echo.py)
        return None
    try:
        return EchoCanceller(FarEndReference(config.audio.sample_rate), config.audio.sample_rate)
    except Exception as err:  # noqa: BLE001 - ImportError, or a broken native library: both mean "none"
        warn_once("load", f"echo cancellation is unavailable ({type(err).__name__}: {err}); barge-in "
                          f"falls back to speaker mode (a raised VAD threshold while the assistant talks). "
                          f"Fix: pip install pywebrtc-audio, or set pipeline.barge_in: headphones")
        return None


# A speech frame whose cleaned remainder (with the 0.2 s before it) is explained this much by a
# delayed copy of our own playback is our echo, not a person (audio/residual.py: echo residue
# correlates 0.5-1 with the reference, a share of 0.25-1; a voice over it < 0.05).
ECHO_SHARE_MAX = 0.25


class NearEndRun:
    """Barge-in evidence on an echo-cancelled microphone: when the current unbroken run of frames
    that are speech (VAD) and not our own echo (ECHO_SHARE_MAX) began. One owner thread."""

    def __init__(self, echo_share_max: float = ECHO_SHARE_MAX) -> None:
        self.echo_share_max = echo_share_max
        self._since: float | None = None

    def update(self, t_start: float, in_speech_run: bool, echo_share: float | None) -> float | None:
        near_end = echo_share is None or echo_share < self.echo_share_max
        if not (in_speech_run and near_end):
            self._since = None
        elif self._since is None:
            self._since = t_start
        return self._since


def effective_barge_in(setting: str, echo_cancelled: bool) -> str:
    """What barge-in does: `auto` is `headphones` behaviour on an echo-cancelled microphone (the
    assistant's own voice is gone from it), else `speaker` behaviour."""
    if setting == "auto":
        return "headphones" if echo_cancelled else "speaker"
    return setting


def warn_once(key: str, message: str) -> None:
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message)
