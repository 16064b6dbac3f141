"""Playback: a queue of synthesized chunks feeding one sounddevice OutputStream, interruptible at once.

`play()` (the voice thread) resamples each chunk to the device rate outside the audio callback,
with one streaming resampler per turn so a turn's chunks join without clicks, and appends it to a
deque. The callback only copies samples. Control (`flush`, `set_current_turn`) reaches the callback
through a second deque; `flush` drops the queued chunks at the callback's next block, and what the
device already holds (OUTPUT_LATENCY_S) plays out: PortAudio's abort() would cut that too, but on
ALSA over PulseAudio it was seen never to return. `hold(seconds)` pauses the answer where it is
(silence, nothing dropped) until then: the listener holds it on a first hint of the person talking
and renews the hold while they go on; if they stop, the hold runs out and the answer goes on.

Timing goes to the callbacks from a notifier thread, never from the audio thread:
- `on_first_audio(turn_id, t)`: t = time.monotonic() at which the turn's first sample reaches the
  DAC (PortAudio's outputBufferDacTime mapped to the monotonic clock; when that is not sane,
  callback time + the stream's output latency). Reported as soon as the sample is written.
- `on_chunk_played(turn_id, chunk_index, t)`: called once the chunk's last sample has been played
  (at t); never called for chunks that a flush cut off before that.
- `on_error(exc)`: the device stopped unexpectedly.

With a `reference` (audio/echo.py FarEndReference) the callback also hands every block it writes,
silence included, to the echo canceller with its DAC time: the far-end signal.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from labvoice.audio.devices import (AudioDevice, AudioDeviceError, close_stream, import_sounddevice,
                                    resolve_device, supports)
from labvoice.audio.resample import StreamingResampler

log = logging.getLogger(__name__)

MAX_SANE_OUTPUT_DELAY_S = 1.0   # a DAC time further ahead than this is garbage: use the latency instead
# Device buffer. flush() cannot drop it (no abort, see above), so it plays out after an interrupt:
# at 50 ms the speaker went silent ~60 ms after the cut and the soak heard 3 of 3 interrupts' tails
# past its 50 ms budget; at 30 ms, none (same loaded 2-core box, same underrun count). It also absorbs
# scheduling hiccups (GIL, a loaded CPU): with PortAudio's "low" (~12 ms) a busy 2-core box underran.
OUTPUT_LATENCY_S = 0.03
NOTIFIER_IDLE_S = 0.5           # how often the notifier wakes with nothing to do (to notice stop())
STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True, eq=False)
class _Chunk:
    turn_id: int
    index: int
    samples: np.ndarray           # float32 mono at the device rate


@dataclass(frozen=True)
class _Notice:
    kind: str                     # "first" | "played" | "flush" | "error" | "stop"
    turn_id: int = -1
    index: int = -1
    t: float = 0.0
    error: Exception | None = None


class Speaker:
    """Owns one OutputStream (running from `start()` to `stop()`, silent when idle). Thread-safe API."""

    def __init__(self, device: str | int | None = None, *, blocksize: int = 256,
                 on_first_audio: Callable[[int, float], None] | None = None,
                 on_chunk_played: Callable[[int, int, float], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None, device_rate: int | None = None,
                 latency_s: float = OUTPUT_LATENCY_S, reference=None) -> None:
        self.device_setting = device
        self.latency_s = latency_s
        self.blocksize = blocksize
        self._on_first_audio = on_first_audio
        self._on_chunk_played = on_chunk_played
        self._on_error = on_error
        self._device_rate = device_rate
        self._reference = reference
        self._items: collections.deque[_Chunk] = collections.deque()       # play() -> callback
        self._control: collections.deque[tuple[str, int | None]] = collections.deque()  # API -> callback
        self._notices: "queue.SimpleQueue[_Notice]" = queue.SimpleQueue()  # callback/API -> notifier
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()       # guards the caller-side state below (API threads only)
        self._turn = 0
        self._resamplers: dict[int, StreamingResampler] = {}
        self._stream = None
        self._notifier: threading.Thread | None = None
        self.device: AudioDevice | None = None
        self.rate = 0
        self.channels = 0
        self.output_latency_s = 0.0
        self.underflows = 0
        # Audio-thread state (only the callback touches these while the stream runs).
        self._cb_turn = 0
        self._current: _Chunk | None = None
        self._pos = 0
        self._announced_turn = -1
        self._held_until = 0.0        # monotonic time the current hold runs out (0: none)

    @classmethod
    def from_config(cls, config, **kwargs) -> "Speaker":
        return cls(config.audio.output_device, blocksize=config.audio.output_blocksize, **kwargs)

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Open the configured device and start the (silent) stream. Raises AudioDeviceError."""
        if self._stream is not None:
            return
        sd = import_sounddevice()
        self.device = resolve_device(self.device_setting, "output")
        self.rate = int(self._device_rate or self.device.default_samplerate)
        self.channels = 1 if supports(self.device, "output", self.rate, 1) else self.device.max_output_channels
        self._stopping.clear()
        try:
            self._stream = sd.OutputStream(device=self.device.index, samplerate=self.rate, channels=self.channels,
                                           dtype="float32", blocksize=self.blocksize, latency=self.latency_s,
                                           callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            self._stream = None
            raise AudioDeviceError(f"cannot open output device {self.device.describe()}: {err}; "
                                   f"check audio.output_device") from None
        self.output_latency_s = float(self._stream.latency)
        self._notifier = threading.Thread(target=self._notify_loop, name="speaker-notifier", daemon=True)
        self._notifier.start()
        log.info("speaker %s open at %d Hz, %d ch, block %d, latency %.1f ms", self.device.name, self.rate,
                 self.channels, self.blocksize, self.output_latency_s * 1000)

    def stop(self) -> None:
        self._stopping.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            close_stream(stream, "output stream")
        self._notices.put(_Notice("stop"))
        if self._notifier is not None and self._notifier is not threading.current_thread():
            self._notifier.join(STOP_TIMEOUT_S)
        self._notifier = None
        with self._lock:
            self._resamplers = {}
        self._items.clear()
        self._control.clear()
        self._current = None
        self._idle.set()

    def restart(self) -> None:
        """Reopen the device (after an error); whatever was queued is dropped."""
        self.stop()
        self.start()

    # -- API (any thread) ------------------------------------------------------------------
    @property
    def current_turn(self) -> int:
        return self._turn

    @property
    def idle(self) -> bool:
        """Nothing queued: every chunk has been handed to the device (it may still be sounding)."""
        return self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def set_current_turn(self, turn_id: int) -> None:
        """From now on, chunks of older turns are dropped (queued ones too)."""
        with self._lock:
            if turn_id <= self._turn:
                return
            self._turn = turn_id
            self._resamplers = {t: r for t, r in self._resamplers.items() if t >= turn_id}
        self._control.append(("turn", turn_id))

    def play(self, turn_id: int, chunk_index: int, audio: np.ndarray, sample_rate: int) -> bool:
        """Queue one chunk (float32 mono at `sample_rate`). False if its turn is stale (dropped)."""
        if not self.rate:
            raise RuntimeError("Speaker.play() before start(): the device rate is not known yet")
        with self._lock:
            if turn_id < self._turn:
                return False
            if turn_id > self._turn:
                self._turn = turn_id
                self._control.append(("turn", turn_id))
            resampler = self._resamplers.get(turn_id)
            if resampler is None or resampler.rate_in != sample_rate:
                resampler = self._resamplers[turn_id] = StreamingResampler(sample_rate, self.rate)
            samples = resampler.process(np.asarray(audio, dtype=np.float32).reshape(-1))
        self._items.append(_Chunk(turn_id, chunk_index, samples))
        self._idle.clear()
        return True

    def hold(self, seconds: float) -> None:
        """Pause the answer for `seconds` from now (silence, nothing dropped; 0 ends a hold). A hold
        that is not renewed runs out by itself, so a listener that stops renewing never leaves the
        answer stuck."""
        self._control.append(("hold", time.monotonic() + seconds if seconds > 0 else 0.0))

    def flush(self, turn_id: int | None = None) -> None:
        """Silence now: drop queued chunks (all, or only `turn_id`'s); the device's own buffer plays out."""
        t_flush = time.monotonic()
        self._control.append(("flush", turn_id))
        # The callback drops the queued chunks at its next block; what the device already holds (its
        # output latency, ~50 ms) plays out. PortAudio's abort() would cut that too, but on ALSA over
        # PulseAudio it was seen never to return (its stream thread stuck in poll), holding the
        # listener, the turn controller and every later question, then killing the stream.
        # Notices of chunks played before the drop may still follow this one; their turn is stale.
        self._notices.put(_Notice("flush", turn_id=-1 if turn_id is None else turn_id, t=t_flush))
        log.debug("flush(turn=%s) took %.1f ms", turn_id, (time.monotonic() - t_flush) * 1000)

    # -- audio thread ----------------------------------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        now = time.monotonic()
        if status.output_underflow:
            self.underflows += 1
        while self._control:
            command, value = self._control.popleft()
            if command == "turn":
                if value > self._cb_turn:
                    self._held_until = 0.0   # a hold belongs to the answer it paused
                self._cb_turn = max(self._cb_turn, value)
            elif command == "hold":
                self._held_until = value
            else:
                self._held_until = 0.0       # what a hold kept is dropped: nothing to resume
                self._drop(value)
        delay = time_info.outputBufferDacTime - time_info.currentTime
        if time_info.outputBufferDacTime > 0 and 0.0 <= delay < MAX_SANE_OUTPUT_DELAY_S:
            t_dac = now + delay
        else:
            t_dac = now + self.output_latency_s
        out = outdata[:, 0]
        pos = frames if now < self._held_until else 0
        if pos:
            out[:] = 0.0
        while pos < frames:
            chunk = self._current
            if chunk is None or chunk.turn_id < self._cb_turn:
                chunk = self._next_chunk()
                if chunk is None:
                    out[pos:] = 0.0
                    break
            if chunk.samples.size == 0:  # nothing to play, but the caller counts it as played
                self._notices.put(_Notice("played", chunk.turn_id, chunk.index, t_dac + pos / self.rate))
                self._current = None
                continue
            if self._pos == 0 and chunk.turn_id != self._announced_turn:
                self._announced_turn = chunk.turn_id
                self._notices.put(_Notice("first", chunk.turn_id, chunk.index, t_dac + pos / self.rate))
            n = min(frames - pos, chunk.samples.size - self._pos)
            out[pos:pos + n] = chunk.samples[self._pos:self._pos + n]
            pos += n
            self._pos += n
            if self._pos >= chunk.samples.size:
                self._notices.put(_Notice("played", chunk.turn_id, chunk.index, t_dac + pos / self.rate))
                self._current = None
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        if self._reference is not None:
            # Stamped with its DAC time (stamping with the write time was tried: under load the write
            # times wander by tens of ms and the reference lost its echo).
            self._reference.push(t_dac, out.copy(), self.rate)

    def _next_chunk(self) -> _Chunk | None:
        self._current, self._pos = None, 0
        while self._items:
            chunk = self._items.popleft()
            if chunk.turn_id >= self._cb_turn:
                self._current = chunk
                return chunk
        self._idle.set()
        if self._items:  # play() appended between our check and set(): not idle after all
            self._idle.clear()
        return None

    def _drop(self, turn_id: int | None) -> None:
        if turn_id is None:
            self._items.clear()
            self._current = None
        else:
            for _ in range(len(self._items)):  # rotate once; chunks play() appends meanwhile stay
                chunk = self._items.popleft()
                if chunk.turn_id != turn_id:
                    self._items.append(chunk)
            if self._current is not None and self._current.turn_id == turn_id:
                self._current = None
        self._pos = 0

    def _finished(self) -> None:
        if not self._stopping.is_set():
            self._notices.put(_Notice("error", error=AudioDeviceError(
                f"output device {self.device.name if self.device else '?'} stopped unexpectedly; "
                f"check audio.output_device")))

    # -- notifier thread -------------------------------------------------------------------
    def _notify_loop(self) -> None:
        """Deliver notices; 'played' ones when their time has come, unless a flush came first."""
        pending: list[_Notice] = []
        while True:
            now = time.monotonic()
            due = [n for n in pending if n.t <= now]
            pending = [n for n in pending if n.t > now]
            for notice in due:
                self._call(self._on_chunk_played, notice.turn_id, notice.index, notice.t)
            timeout = min((n.t for n in pending), default=now + NOTIFIER_IDLE_S) - now
            try:
                notice = self._notices.get(timeout=max(0.0, timeout))
            except queue.Empty:
                continue
            if notice.kind == "stop":
                return
            if notice.kind == "first":
                self._call(self._on_first_audio, notice.turn_id, notice.t)
            elif notice.kind == "played":
                pending.append(notice)
            elif notice.kind == "flush":
                # Chunks due after the flush were cut off (of every turn, or of the one flushed).
                pending = [n for n in pending
                           if n.t <= notice.t or (notice.turn_id >= 0 and n.turn_id != notice.turn_id)]
            elif notice.kind == "error":
                log.warning("speaker error: %s", notice.error)
                self._call(self._on_error, notice.error)

    @staticmethod
    def _call(callback, *args) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a subscriber's bug must not stop playback reporting
            log.exception("speaker callback %r failed", callback)
