"""The sound server's own echo canceller as a device choice (`audio.echo_canceller: system`).

PulseAudio, and PipeWire through its pulse layer, ship `module-echo-cancel` (WebRTC's canceller in
the server). It makes a virtual source (the microphone with the echo removed) and a virtual sink
(what is played there is the far-end reference, then goes to the real speaker). Instead of asking
the user to pick those devices, `SystemEchoCancel.attach()` finds this process's own playback and
capture streams on the server, loads the module on the devices they use (or takes the one the
desktop already runs, which has converged on the room), and moves the streams onto it; `detach()`
unloads what it loaded. Everything goes through `pactl`, so the app needs no
PulseAudio binding, and any ALSA device name that reaches the server (e.g. `pulse`, `default`)
works. When there is no server, no `pactl` or no module, `attach()` raises `SystemEchoError`
with one line saying what is missing; the orchestrator then falls back (audio/echo.py).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

MODULE = "module-echo-cancel"
SOURCE_NAME = "labvoice_echo_cancelled"     # the microphone, echo removed
SINK_NAME = "labvoice_echo_reference"       # the speaker, as seen by the canceller
PACTL_TIMEOUT_S = 5.0
# WebRTC's analog gain control would turn the user's microphone volume up and down on the server
# (the VAD and Whisper want the level the user set). The extended filter follows longer and
# changing echo delays; drift compensation is for two devices on two clocks. On the virtual echo
# path (60 ms) these settings gave 33-41 dB ERLE after 3 s, the defaults ~0 dB.
AEC_ARGS = "analog_gain_control=0 digital_gain_control=0 extended_filter=1 drift_compensation=0"
# A stream PortAudio has just opened takes a moment to show up on the server.
FIND_STREAMS_S = 2.0
FIND_POLL_S = 0.05


class SystemEchoError(RuntimeError):
    """The system canceller cannot be used here; the message says why and what to do."""


def _pactl(*args: str) -> str:
    if shutil.which("pactl") is None:
        raise SystemEchoError("audio.echo_canceller: system needs PulseAudio or PipeWire's pactl "
                              "(apt-get install pulseaudio-utils), or set audio.echo_canceller: webrtc")
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=PACTL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SystemEchoError(f"pactl {args[0]} did not answer within {PACTL_TIMEOUT_S:.0f} s; "
                              f"is the sound server stuck?") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise SystemEchoError(f"pactl {' '.join(args[:2])} failed: {reason[-1] if reason else done.returncode}")
    return done.stdout


def _listing(kind: str) -> list[dict]:
    """`pactl -f json list <kind>` (sinks, sources, sink-inputs, source-outputs, modules)."""
    text = _pactl("-f", "json", "list", kind)
    try:
        return json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        raise SystemEchoError("pactl gave no JSON (PulseAudio >= 16 or PipeWire's pactl is needed for "
                              "audio.echo_canceller: system); set audio.echo_canceller: webrtc") from None


@dataclass(frozen=True)
class OwnStreams:
    """This process's streams on the sound server: (stream index, device name) pairs."""

    playback: tuple[tuple[int, str], ...]
    capture: tuple[tuple[int, str], ...]


def own_streams(pid: int | None = None) -> OwnStreams:
    """The playback and capture streams the process `pid` (default: this one) has open on the server."""
    pid_text = str(os.getpid() if pid is None else pid)
    sinks = {item["index"]: item["name"] for item in _listing("sinks")}
    sources = {item["index"]: item["name"] for item in _listing("sources")}

    def mine(items: list[dict], device_key: str, names: dict[int, str]) -> tuple[tuple[int, str], ...]:
        return tuple((int(item["index"]), names.get(item.get(device_key), "?")) for item in items
                     if item.get("properties", {}).get("application.process.id") == pid_text)

    return OwnStreams(mine(_listing("sink-inputs"), "sink", sinks),
                      mine(_listing("source-outputs"), "source", sources))


def _move(command: str, index: int, device: str) -> None:
    try:
        _pactl(command, str(index), device)
    except SystemEchoError as err:
        if "No such entity" not in str(err):   # the stream closed meanwhile: nothing to move
            raise


def existing_canceller() -> tuple[str, str, str] | None:
    """(module, source, sink) of a module-echo-cancel already running on the server (the user's own
    set-up, or a desktop's), or None."""
    sources = [item for item in _listing("sources") if item.get("driver", "").startswith(MODULE)]
    sinks = {item.get("owner_module"): item["name"] for item in _listing("sinks")
             if item.get("driver", "").startswith(MODULE)}
    for source in sources:
        sink = sinks.get(source.get("owner_module"))
        if sink is not None:
            return str(source.get("owner_module")), source["name"], sink
    return None


def load_canceller(source_master: str, sink_master: str) -> str:
    """Load module-echo-cancel (WebRTC) between a microphone and a speaker; returns the module index."""
    return _pactl("load-module", MODULE, f"source_master={source_master}", f"sink_master={sink_master}",
                  f"source_name={SOURCE_NAME}", f"sink_name={SINK_NAME}", "aec_method=webrtc",
                  f"aec_args=\"{AEC_ARGS}\"",
                  "source_properties=device.description=labvoice-echo-cancelled-mic",
                  "sink_properties=device.description=labvoice-echo-reference").strip()


@dataclass(frozen=True)
class SystemEchoCancel:
    """`module-echo-cancel` on the server, with this process's streams moved onto it. A canceller that
    is running already is used as it is (it has converged on the room); otherwise one is loaded on
    the devices our streams use, and unloaded again by `detach()`."""

    module: str            # the module's index, as pactl names it
    source: str            # the echo-cancelled microphone
    sink: str              # the reference sink our playback goes to
    loaded_here: bool

    @classmethod
    def attach(cls, pid: int | None = None, wait_s: float = FIND_STREAMS_S) -> "SystemEchoCancel":
        """Move our streams onto the server's canceller (loading one if none runs)."""
        deadline = time.monotonic() + wait_s
        streams = own_streams(pid)
        while not (streams.playback and streams.capture) and time.monotonic() < deadline:
            time.sleep(FIND_POLL_S)
            streams = own_streams(pid)
        if not (streams.playback and streams.capture):
            raise SystemEchoError("audio.echo_canceller: system needs the microphone and the speaker to go "
                                  "through PulseAudio or PipeWire (e.g. audio devices 'pulse' or 'default'); "
                                  "they do not, so set audio.echo_canceller: webrtc")
        running = existing_canceller()
        if running is not None:
            attached = cls(*running, loaded_here=False)
        else:
            module = load_canceller(source_master=streams.capture[0][1], sink_master=streams.playback[0][1])
            attached = cls(module, SOURCE_NAME, SINK_NAME, loaded_here=True)
        try:
            attached._move_onto(streams, pid, time.monotonic() + wait_s)
        except SystemEchoError:
            attached.detach()
            raise
        log.info("system echo canceller %s / %s (module %s%s)", attached.source, attached.sink, attached.module,
                 ", loaded here" if attached.loaded_here else "")
        return attached

    def _move_onto(self, streams: OwnStreams, pid: int | None, deadline: float) -> None:
        """Move every stream of ours onto the canceller. PortAudio opens and closes short-lived probe
        streams while it opens a device, so one can vanish between the listing and the move."""
        while True:
            for index, device in streams.playback:
                if device != self.sink:
                    _move("move-sink-input", index, self.sink)
            for index, device in streams.capture:
                if device != self.source:
                    _move("move-source-output", index, self.source)
            streams = own_streams(pid)
            placed = ({d for _, d in streams.playback} == {self.sink}
                      and {d for _, d in streams.capture} == {self.source})
            if placed:
                return
            if time.monotonic() > deadline:
                raise SystemEchoError(f"could not move our streams onto the system echo canceller "
                                      f"({self.source} / {self.sink}); set audio.echo_canceller: webrtc")
            time.sleep(FIND_POLL_S)

    def detach(self) -> None:
        """Unload a module loaded here; the server moves any stream still on it back to the real devices."""
        if not self.loaded_here:
            return
        try:
            _pactl("unload-module", self.module)
        except SystemEchoError as err:
            log.warning("could not unload the system echo canceller (module %s): %s", self.module, err)
