"""A private PulseAudio daemon with a virtual microphone and speaker, for tests on real devices.

Layout (the recipe in DESIGN.md):

    app --ALSA pcm "vspk"--> null sink "spk"  --monitor--> ALSA pcm "spkmon" / parec (recordings)
    paplay --> null sink "micfeed" --monitor--> remap source "vmic" --ALSA pcm "vmic"--> app

With `echo_path()` the room closes the loop: a `module-loopback` carries what the speaker plays
("spk.monitor") into the mic feed, delayed (40-120 ms) and attenuated, as open speakers do; a
person's voice played into the mic at the same time mixes with that echo. `reverberant()` gives
a voice recording a room's reverb (sox) before it is played in.

ORDER MATTERS: PortAudio (sounddevice) reads the ALSA configuration (``$HOME/.asoundrc``) and
the PulseAudio address (``PULSE_SERVER``) once, when ``sounddevice`` is first imported
(``Pa_Initialize``). Call :func:`start_virtual_audio` before anything imports sounddevice;
``tests/support/fixtures.py`` does this when pytest loads it as a plugin. Starting it later
works for the pulse command-line tools but PortAudio will not list the virtual devices.

Everything lives in one temporary folder (HOME, XDG_RUNTIME_DIR, the socket, the logs), and
every process started here is ended by its own id in :meth:`VirtualAudio.stop`.
"""
from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

log = logging.getLogger(__name__)

INPUT_DEVICE = "vmic"        # config audio.input_device: ALSA pcm on the remapped source
OUTPUT_DEVICE = "vspk"       # config audio.output_device: ALSA pcm on the null sink "spk"
MONITOR_DEVICE = "spkmon"    # ALSA pcm recording what was played to "spk"
SPEAKER_SINK = "spk"
MIC_FEED_SINK = "micfeed"
SINK_RATE = 48000            # the null sinks' rate: a common hardware rate, so resampling is exercised
RECORD_CHANNELS = 1
RECORD_BYTES_PER_SAMPLE = 4  # float32le
# Small client latencies keep timestamps tight; pulse delivers ~10 ms fragments.
KEEPALIVE_LATENCY_MS = 10
RECORD_LATENCY_MS = 10
READ_BYTES = 4096            # parec read size; os.read returns whatever is there (<= this)
START_TIMEOUT_S = 15.0       # the daemon answers `pactl info` within ~0.2 s; be generous on CI
STOP_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1         # linux/prctl.h
TOOLS = ("pulseaudio", "pactl", "pacat", "paplay", "parec")
ECHO_LATENCY_MS = 60         # speaker -> mic delay of the echo path (a laptop's is ~10-50 ms plus buffers)
ECHO_ATTENUATION_DB = 6.0    # the echo's level below what was played

_ENV_KEYS = ("HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_CLIENTCONFIG", "PULSE_RUNTIME_PATH")

_ASOUNDRC = """\
pcm.{inp} {{ type pulse; device "{inp}" }}
pcm.{out} {{ type pulse; device "{spk}" }}
pcm.{mon} {{ type pulse; device "{spk}.monitor" }}
pcm.!default {{ type pulse }}
ctl.!default {{ type pulse }}
"""

_DEFAULT_PA = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name={spk} rate={rate} channels=2 sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name={feed} rate={rate} channels=2 sink_properties=device.description=MicFeed
load-module module-remap-source source_name={inp} master={feed}.monitor source_properties=device.description=VirtualMic
set-default-sink {spk}
set-default-source {inp}
"""


class VirtualAudioError(RuntimeError):
    """The virtual audio daemon could not be started; the message says why."""


@dataclass(frozen=True, eq=False)
class SpeakerRecording:
    """What the virtual speaker played, with a clock: sample i was played at time_of(i)."""

    path: Path
    audio: np.ndarray          # float32 mono
    sample_rate: int
    t_first_sample: float      # monotonic time the sink played sample 0 (upper-bound estimate)

    def time_of(self, index: int) -> float:
        return self.t_first_sample + index / self.sample_rate

    def index_at(self, t: float) -> int:
        return int(round((t - self.t_first_sample) * self.sample_rate))


@dataclass(eq=False)
class MicPlayback:
    """A running `paplay` into the virtual microphone."""

    process: subprocess.Popen
    t_started: float

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        _end(self.process)


@dataclass(eq=False)
class _Recorder:
    path: Path
    process: subprocess.Popen
    chunks: list[bytes] = field(default_factory=list)
    # (monotonic time of a read, total samples received after it): bounds when sample 0 played
    stamps: list[tuple[float, int]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def read_loop(self) -> None:
        fd = self.process.stdout.fileno()
        received = 0
        while True:
            data = os.read(fd, READ_BYTES)
            now = time.monotonic()
            if not data:
                return
            self.chunks.append(data)
            received += len(data)
            self.stamps.append((now, received // (RECORD_BYTES_PER_SAMPLE * RECORD_CHANNELS)))


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, so no daemon outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _end(process: subprocess.Popen | None) -> None:
    """End one process we started, by its id: terminate, then kill if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


class VirtualAudio:
    """Owns one PulseAudio daemon and its helper clients, all under `root`.

    Devices for config: `input_device` ("vmic"), `output_device` ("vspk"); `monitor_device`
    ("spkmon") records the speaker through PortAudio. Feed the mic with `play_into_mic(wav)`;
    record the speaker with `record_speaker(path)` ... `stop_recording()`, whose result maps
    sample positions to time.monotonic(). `kill_daemon()` / `restart_daemon()` simulate the
    devices vanishing and coming back. Methods are meant for one (test) thread.
    """

    input_device = INPUT_DEVICE
    output_device = OUTPUT_DEVICE
    monitor_device = MONITOR_DEVICE

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.home = self.root / "home"
        self.runtime = self.root / "runtime"
        self.socket = self.runtime / "pulse" / "native"
        self.log_path = self.root / "pulseaudio.log"
        self._daemon: subprocess.Popen | None = None
        self._keepalive: list[subprocess.Popen] = []
        self._players: list[MicPlayback] = []
        self._recorders: dict[str, _Recorder] = {}   # by source; one recording per source at a time
        self._saved_env: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """The variables a client needs to reach this daemon (and only this one)."""
        return {
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "PULSE_RUNTIME_PATH": str(self.runtime / "pulse"),
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_CLIENTCONFIG": str(self.root / "client.conf"),
        }

    def _child_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def start(self) -> "VirtualAudio":
        if "sounddevice" in sys.modules:
            log.warning("sounddevice was imported before the virtual audio started: PortAudio will not "
                        "see vmic/vspk/spkmon in this process")
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise VirtualAudioError(f"missing {', '.join(missing)}; run: apt-get install pulseaudio pulseaudio-utils "
                                    "libasound2-plugins libportaudio2")
        for folder in (self.home, self.runtime, self.runtime / "pulse"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)  # pulseaudio refuses a runtime dir others can read
        (self.home / ".asoundrc").write_text(_ASOUNDRC.format(inp=INPUT_DEVICE, out=OUTPUT_DEVICE,
                                                              mon=MONITOR_DEVICE, spk=SPEAKER_SINK))
        # No shared memory: when the server dies, libpulse can deadlock freeing blocks it imported
        # over SHM (seen: pa_memimport_free waiting forever while holding the stream's lock).
        (self.root / "client.conf").write_text("autospawn = no\nenable-shm = no\nenable-memfd = no\n")
        script = self.root / "default.pa"
        script.write_text(_DEFAULT_PA.format(socket=self.socket, spk=SPEAKER_SINK, feed=MIC_FEED_SINK,
                                             inp=INPUT_DEVICE, rate=SINK_RATE))
        self._saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
        os.environ.update(self.env)
        try:
            self._start_daemon(script)
        except Exception:
            self.stop()
            raise
        log.info("virtual audio up at %s", self.socket)
        return self

    def _start_daemon(self, script: Path) -> None:
        with open(self.log_path, "ab") as log_file:
            self._daemon = subprocess.Popen(
                ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--system=false",
                 "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=false", "--log-target=stderr",
                 "--disable-shm=yes"],
                env=self._child_env(), stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                cwd=self.root, preexec_fn=_die_with_parent)
        self._wait_ready()
        # A silent low-latency client on each null sink: without it new streams stall up to 2 s.
        for sink in (SPEAKER_SINK, MIC_FEED_SINK):
            with open("/dev/zero", "rb") as zeros:
                self._keepalive.append(subprocess.Popen(
                    ["pacat", "-p", f"--device={sink}", f"--latency-msec={KEEPALIVE_LATENCY_MS}",
                     f"--rate={SINK_RATE}", "--client-name=keepalive"],
                    env=self._child_env(), stdin=zeros, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent))

    def _end_daemon(self) -> None:
        for process in self._keepalive:
            _end(process)
        self._keepalive.clear()
        _end(self._daemon)
        self._daemon = None

    def kill_daemon(self) -> None:
        """Simulate the audio devices vanishing: the server dies, open streams fail at once."""
        if self._daemon is not None:
            self._daemon.kill()
            self._daemon.wait(STOP_TIMEOUT_S)
        self._end_daemon()

    def restart_daemon(self) -> None:
        """Bring the devices back (same socket, same names) after kill_daemon()."""
        self._end_daemon()
        self._start_daemon(self.root / "default.pa")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._daemon.poll() is not None:
                raise VirtualAudioError(f"pulseaudio exited with {self._daemon.returncode}: "
                                        f"{self._log_tail()}")
            done = subprocess.run(["pactl", "info"], env=self._child_env(), capture_output=True, text=True)
            if done.returncode == 0 and self._has_devices():
                return
            time.sleep(0.05)
        raise VirtualAudioError(f"pulseaudio did not answer within {START_TIMEOUT_S} s: {self._log_tail()}")

    def _has_devices(self) -> bool:
        sources = self.pactl("list", "short", "sources")
        return INPUT_DEVICE in sources and f"{SPEAKER_SINK}.monitor" in sources

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "empty log"

    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self._child_env(), capture_output=True, text=True)
        return done.stdout

    def stop(self) -> None:
        """End every process started here (by id) and restore the environment."""
        for recorder in self._recorders.values():
            _end(recorder.process)
        self._recorders = {}
        for player in self._players:
            player.stop()
        self._players.clear()
        self._end_daemon()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    # -- microphone -------------------------------------------------------------------------
    def play_into_mic(self, wav_path: str | os.PathLike) -> MicPlayback:
        """Start playing a WAV into the virtual microphone; returns at once (call .wait())."""
        process = subprocess.Popen(["paplay", f"--device={MIC_FEED_SINK}", str(wav_path)],
                                   env=self._child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        playback = MicPlayback(process, time.monotonic())
        self._players = [p for p in self._players if p.process.poll() is None] + [playback]
        return playback

    # -- speaker ----------------------------------------------------------------------------
    def record_speaker(self, path: str | os.PathLike, source: str = f"{SPEAKER_SINK}.monitor") -> None:
        """Start recording what the virtual speaker plays (mono float32 at SINK_RATE); with
        `source=mic_feed_monitor` what the microphone hears (both may run at once)."""
        with self._lock:
            if source in self._recorders:
                raise VirtualAudioError(f"already recording {source}; call stop_recording() first")
            process = subprocess.Popen(
                ["parec", f"--device={source}", "--format=float32le", f"--rate={SINK_RATE}",
                 f"--channels={RECORD_CHANNELS}", f"--latency-msec={RECORD_LATENCY_MS}", "--raw",
                 "--client-name=recorder"],
                env=self._child_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
            recorder = _Recorder(Path(path), process)
            recorder.thread = threading.Thread(target=recorder.read_loop, name="speaker-recorder", daemon=True)
            recorder.thread.start()
            self._recorders[source] = recorder

    def stop_recording(self, source: str = f"{SPEAKER_SINK}.monitor") -> SpeakerRecording:
        """Stop recording `source`, write the WAV and return it with its clock."""
        with self._lock:
            recorder = self._recorders.pop(source, None)
        if recorder is None:
            raise VirtualAudioError("not recording; call record_speaker() first")
        _end(recorder.process)
        recorder.thread.join(STOP_TIMEOUT_S)
        raw = b"".join(recorder.chunks)
        usable = len(raw) - len(raw) % RECORD_BYTES_PER_SAMPLE
        audio = np.frombuffer(raw[:usable], dtype="<f4").astype(np.float32)
        # A read at time t that brought the total to n samples means sample n-1 played before t,
        # so sample 0 played at or before t - n/rate; the smallest bound is the tightest.
        t0 = min((t - n / SINK_RATE for t, n in recorder.stamps), default=time.monotonic())
        soundfile.write(str(recorder.path), audio, SINK_RATE, subtype="FLOAT")
        return SpeakerRecording(recorder.path, audio, SINK_RATE, t0)

    # -- echo path ---------------------------------------------------------------------------
    mic_feed_monitor = f"{MIC_FEED_SINK}.monitor"

    def echo_path(self, latency_ms: int = ECHO_LATENCY_MS,
                  attenuation_db: float = ECHO_ATTENUATION_DB) -> "EchoPath":
        """Route the speaker into the microphone (a context manager; `remove()` undoes it)."""
        module = self.pactl("load-module", "module-loopback", f"source={SPEAKER_SINK}.monitor",
                            f"sink={MIC_FEED_SINK}", f"latency_msec={int(latency_ms)}", "source_dont_move=true",
                            "sink_dont_move=true", "sink_input_properties=media.name=echo-path").strip()
        if not module.isdigit():
            raise VirtualAudioError(f"could not load module-loopback for the echo path: {self._log_tail()}")
        stream = self._sink_input_of(module)
        done = subprocess.run(["pactl", "set-sink-input-volume", stream, f"-{attenuation_db:g}dB"],
                              env=self._child_env(), capture_output=True, text=True)
        if done.returncode != 0:
            self.pactl("unload-module", module)
            raise VirtualAudioError(f"could not attenuate the echo path: {done.stderr.strip()}")
        return EchoPath(self, module, latency_ms, attenuation_db)

    def _sink_input_of(self, module: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            current = None
            for line in self.pactl("list", "sink-inputs").splitlines():
                line = line.strip()
                if line.startswith("Sink Input #"):
                    current = line.split("#", 1)[1]
                elif line.startswith("Owner Module:") and line.split(":", 1)[1].strip() == module:
                    return current
            time.sleep(0.05)
        raise VirtualAudioError(f"module-loopback {module} created no stream into {MIC_FEED_SINK}")

    def __enter__(self) -> "VirtualAudio":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(eq=False)
class EchoPath:
    """A loaded speaker -> microphone loopback; `remove()` (or leaving the `with`) unloads it."""

    audio: VirtualAudio
    module: str
    latency_ms: int
    attenuation_db: float

    def remove(self) -> None:
        if self.module:
            self.audio.pactl("unload-module", self.module)
            self.module = ""

    def __enter__(self) -> "EchoPath":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def reverberant(src: str | os.PathLike, dst: str | os.PathLike, reverberance: int = 40,
                room_scale: int = 60, gain_db: float = 0.0) -> Path:
    """`src` as heard across a room (sox's reverb; a short pre-gain keeps it from clipping)."""
    if shutil.which("sox") is None:
        raise VirtualAudioError("sox is missing; run: apt-get install sox")
    done = subprocess.run(["sox", str(src), str(dst), "gain", f"{gain_db - 3:g}", "reverb", str(reverberance),
                           "50", str(room_scale)], capture_output=True, text=True)
    if done.returncode != 0:
        raise VirtualAudioError(f"sox reverb failed on {src}: {done.stderr.strip()}")
    return Path(dst)


def start_virtual_audio(tmpdir: str | os.PathLike) -> VirtualAudio:
    """Start the daemon under `tmpdir` and point this process at it. Call before importing sounddevice."""
    return VirtualAudio(Path(tmpdir)).start()
