"""Microphone capture: 16 kHz mono float32 frames of exactly 512 samples, each with its capture time.

The device is opened at the pipeline rate and mono when it allows; otherwise at its own default
rate and channel count, and the PortAudio callback downmixes and resamples (streaming, so frames
join without clicks). With an `echo_canceller` (audio/echo.py) the callback also removes what our
own speaker played before framing, so every consumer sees the cancelled signal.
Frames go to a bounded queue (default) or to an `on_frame` callback that
runs on the audio thread and must not block.

Failures (the device vanished, PortAudio stopped the stream, no audio for a while) are reported
to `on_error` from a small monitor thread, never from the audio thread; `restart()` reopens the
device. sounddevice is imported on `start()`, not at module import (see devices.py).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from labvoice.audio.devices import (AudioDevice, AudioDeviceError, close_stream, import_sounddevice,
                                    resolve_device, supports)
from labvoice.audio.residual import ResidualEchoMeter
from labvoice.audio.resample import StreamingResampler

log = logging.getLogger(__name__)

FRAME_QUEUE_SIZE = 256          # ~8 s of 32 ms frames: a slow consumer loses the oldest, not the newest
STALL_TIMEOUT_S = 3.0           # no callback for this long = device gone (pulse stalls new streams <= 2 s)
MAX_SANE_INPUT_DELAY_S = 1.0    # a reported ADC time further back than this is garbage: use the clock
CLOCK_SLEW = 1e-3               # s/s the frame clock may drift later (sound cards drift ~1e-4)
# Device buffer. Measured through PulseAudio: 30 ms (or PortAudio's "low") delivered frames a median
# ~15 ms after capture, 100 ms ~40 ms; raw ALSA's "low" (~5 ms) overflows when a busy Python
# process is late to its callback. Frame timestamps stay right either way (ADC time).
INPUT_LATENCY_S = 0.03


@dataclass(frozen=True, eq=False)
class AudioFrame:
    """One VAD frame: `samples` float32 mono at the pipeline rate."""

    samples: np.ndarray
    t_start: float      # time.monotonic() when the first sample was captured
    t_end: float        # time.monotonic() when the last sample was captured (+1 sample period)
    rms: float          # root mean square, 0..1, for the mic level meter
    index: int          # frames since start()
    # Share of the cleaned frame's energy (with the 0.2 s before it) that a delayed copy of our own
    # playback explains, 0..1 (audio/residual.py); None: no canceller, or nothing to judge.
    echo_share: float | None = None


class MicrophoneCapture:
    """Owns one InputStream. `start()`, `stop()`, `restart()`, and `muted` to pause delivery.

    Contract: every delivered frame has exactly `frame_samples` samples at `sample_rate`, and
    consecutive frames are contiguous in time unless the device overflowed (counted in
    `overflows`) or the capture was muted in between.
    """

    def __init__(self, device: str | int | None = None, *, sample_rate: int = 16000, frame_samples: int = 512,
                 on_frame: Callable[[AudioFrame], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None,
                 frames: "queue.Queue[AudioFrame] | None" = None, device_rate: int | None = None,
                 stall_timeout_s: float = STALL_TIMEOUT_S, echo_canceller=None) -> None:
        self.device_setting = device
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self.frames: "queue.Queue[AudioFrame]" = frames if frames is not None else queue.Queue(FRAME_QUEUE_SIZE)
        self._on_frame = on_frame
        self._on_error = on_error
        self._device_rate = device_rate      # force opening at this rate (tests, devices that lie)
        self._stall_timeout_s = stall_timeout_s
        self._echo = echo_canceller          # audio thread only, like the resampler
        self._residual = ResidualEchoMeter(sample_rate) if echo_canceller is not None else None
        self._muted = threading.Event()
        self._stopping = threading.Event()
        self._alive = threading.Event()      # set by every callback; the monitor clears it
        self._errors: "queue.SimpleQueue[Exception]" = queue.SimpleQueue()
        self._stream = None
        self._monitor: threading.Thread | None = None
        self.device: AudioDevice | None = None
        self.stream_rate = 0
        self.stream_channels = 0
        self.overflows = 0
        self.dropped_frames = 0

    @classmethod
    def from_config(cls, config, **kwargs) -> "MicrophoneCapture":
        audio = config.audio
        return cls(audio.input_device, sample_rate=audio.sample_rate, frame_samples=audio.frame_samples, **kwargs)

    # -- control ---------------------------------------------------------------------------
    @property
    def muted(self) -> bool:
        return self._muted.is_set()

    @muted.setter
    def muted(self, value: bool) -> None:
        if value:
            self._muted.set()
        else:
            self._muted.clear()

    @property
    def echo_cancelled(self) -> bool:
        """Frames have our own playback removed (an echo canceller is attached)."""
        return self._echo is not None

    @property
    def echo_canceller(self):
        return self._echo

    @property
    def running(self) -> bool:
        return self._stream is not None and not self._stopping.is_set()

    def start(self) -> None:
        """Open the configured device and start delivering frames. Raises AudioDeviceError."""
        if self._stream is not None:
            return
        sd = import_sounddevice()
        self.device = resolve_device(self.device_setting, "input")
        rate, channels = self._open_settings(self.device)
        self.stream_rate, self.stream_channels = rate, channels
        self._stopping.clear()
        self._alive.clear()
        self._reset_assembly(rate)
        blocksize = int(round(self.frame_samples * rate / self.sample_rate))
        try:
            self._stream = sd.InputStream(device=self.device.index, samplerate=rate, channels=channels,
                                          dtype="float32", blocksize=blocksize, latency=INPUT_LATENCY_S,
                                          callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            self._stream = None
            raise AudioDeviceError(f"cannot open input device {self.device.describe()}: {err}; "
                                   f"check audio.input_device") from None
        self._monitor = threading.Thread(target=self._monitor_loop, name="mic-monitor", daemon=True)
        self._monitor.start()
        log.info("microphone %s open at %d Hz, %d ch (block %d)", self.device.name, rate, channels, blocksize)

    def stop(self) -> None:
        """Stop and close the stream (idempotent; never raises for a device that is already gone)."""
        self._stopping.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            close_stream(stream, "input stream")
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(self._stall_timeout_s)
        self._monitor = None

    def restart(self) -> None:
        """Reopen the device (after an error, or when the config's device changed)."""
        self.stop()
        self.start()

    # -- device settings -------------------------------------------------------------------
    def _open_settings(self, device: AudioDevice) -> tuple[int, int]:
        if self._device_rate is None and supports(device, "input", self.sample_rate, 1):
            return self.sample_rate, 1
        rate = int(self._device_rate or device.default_samplerate)
        if supports(device, "input", rate, 1):
            return rate, 1
        return rate, device.max_input_channels

    def _reset_assembly(self, rate: int) -> None:
        # Owned by the audio thread while the stream runs; rebuilt here only while it is closed.
        self._resampler = StreamingResampler(rate, self.sample_rate)
        self._frame_index = 0
        self._reanchor()

    def _reanchor(self) -> None:
        """Restart the sample clock (start, unmute, overflow): counts from 0, time unknown."""
        self._resampler.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        if self._echo is not None:
            self._echo.drop_pending()
            self._residual.reset()
        self._resampled = 0          # pipeline-rate samples out of the resampler since the anchor
        self._device_samples = 0     # device-rate samples since the anchor
        self._pipeline_samples = 0   # pipeline-rate samples emitted as frames since the anchor
        self._t0: float | None = None
        self._t_anchor_update = 0.0

    # -- audio thread ----------------------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.monotonic()
        self._alive.set()
        if self._muted.is_set():
            if self._device_samples:
                self._reanchor()
            return
        if status.input_overflow:
            self.overflows += 1
            self._reanchor()  # samples were lost: the count no longer tells the time
        try:
            self._assemble(indata, frames, time_info, now)
        except Exception as err:  # noqa: BLE001 - never let an exception kill the audio thread silently
            self._errors.put(err)

    def _block_time(self, frames: int, time_info, now: float) -> float:
        """Best single-block estimate of when this block's first sample was captured."""
        adc = time_info.inputBufferAdcTime
        delay = time_info.currentTime - adc
        if adc > 0 and 0.0 <= delay < MAX_SANE_INPUT_DELAY_S:
            return now - delay
        return now - frames / self.stream_rate

    def _update_clock(self, t_block: float, now: float) -> None:
        """t0 = time of the anchor's sample 0. Each block bounds it from above (a block is only
        delivered after it was captured); the smallest bound is the best, and t0 may creep up by
        CLOCK_SLEW per second to follow a device clock slower than ours."""
        candidate = t_block - self._device_samples / self.stream_rate
        if self._t0 is None:
            self._t0 = candidate
        else:
            self._t0 = min(self._t0 + CLOCK_SLEW * (now - self._t_anchor_update), candidate)
        self._t_anchor_update = now

    def _assemble(self, indata, frames: int, time_info, now: float) -> None:
        mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
        self._update_clock(self._block_time(frames, time_info, now), now)
        self._device_samples += frames
        converted = self._resampler.process(mono)
        if self._echo is not None and converted.size:
            # The resampler keeps the timeline, so the k-th converted sample since the anchor was
            # captured at t0 + k / rate; the canceller returns the same stream, cleaned, in 10 ms blocks.
            t_first = self._t0 + self._resampled / self.sample_rate
            self._resampled += converted.size
            converted = self._echo.process(converted, t_first)
        pending = np.concatenate((self._pending, converted)) if self._pending.size else converted
        period = 1.0 / self.sample_rate
        offset = 0
        while pending.size - offset >= self.frame_samples:
            samples = np.array(pending[offset:offset + self.frame_samples], dtype=np.float32)
            t_start = self._t0 + self._pipeline_samples * period - self._resampler.delay_s
            share = None
            if self._echo is not None:
                meter = self._residual
                far = self._echo.reference.read(meter.far_start(t_start + self.frame_samples * period), meter.far_span)
                share = meter.add(samples, far)
            frame = AudioFrame(samples, t_start, t_start + self.frame_samples * period,
                               float(np.sqrt(np.mean(samples * samples))), self._frame_index, echo_share=share)
            self._frame_index += 1
            self._pipeline_samples += self.frame_samples
            offset += self.frame_samples
            self._deliver(frame)
        self._pending = pending[offset:].copy() if offset else pending

    def _deliver(self, frame: AudioFrame) -> None:
        if self._on_frame is not None:
            self._on_frame(frame)
            return
        while True:
            try:
                self.frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.dropped_frames += 1
                except queue.Empty:
                    pass

    def _finished(self) -> None:
        if not self._stopping.is_set():
            self._errors.put(AudioDeviceError(
                f"input device {self.device.name if self.device else '?'} stopped unexpectedly "
                f"(unplugged or taken by another program); check audio.input_device"))

    # -- monitor thread --------------------------------------------------------------------
    def _monitor_loop(self) -> None:
        """Report errors from the audio thread, and a stream that stopped delivering audio."""
        last_alive = time.monotonic()
        while not self._stopping.is_set():
            try:
                error = self._errors.get(timeout=self._stall_timeout_s / 4)
            except queue.Empty:
                error = None
            if self._stopping.is_set():
                return
            if self._alive.is_set():
                self._alive.clear()
                last_alive = time.monotonic()
            elif error is None and time.monotonic() - last_alive > self._stall_timeout_s:
                error = AudioDeviceError(f"input device {self.device.name if self.device else '?'} delivered no "
                                         f"audio for {self._stall_timeout_s:.1f} s; check audio.input_device")
            if error is not None:
                log.warning("microphone error: %s", error)
                if self._on_error is not None:
                    self._on_error(error)
                if isinstance(error, AudioDeviceError):
                    return  # one report per failure; restart() starts a new monitor
