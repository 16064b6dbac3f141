"""Find the microphone and speaker the config names, or say clearly which ones exist.

`sounddevice` is imported inside the functions, not at module import: PortAudio reads the audio
setup (ALSA config, PULSE_SERVER) when it is first imported, and tests start their virtual
devices before that. A device that cannot be found raises `AudioDeviceError`, whose message lists
the devices there are, one per line, and the config key to set; the CLI prints it without a
traceback.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Literal

from labvoice.errors import LabvoiceError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
CONFIG_KEYS = {"input": "audio.input_device", "output": "audio.output_device"}
ENV_KEYS = {"input": "LABVOICE_AUDIO__INPUT_DEVICE", "output": "LABVOICE_AUDIO__OUTPUT_DEVICE"}
CLOSE_TIMEOUT_S = 2.0   # closing a healthy stream takes a few ms; longer means the server is gone
PORTAUDIO_HINT = "install PortAudio: apt-get install libportaudio2 (then pip install sounddevice)"


class AudioDeviceError(LabvoiceError, RuntimeError):
    """No usable audio device; the message names the config key and lists what exists."""

    def __init__(self, message: str) -> None:
        super().__init__("audio_device", message)


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def describe(self) -> str:
        return (f"[{self.index}] {self.name} ({self.hostapi}; {self.max_input_channels} in, "
                f"{self.max_output_channels} out; {self.default_samplerate:.0f} Hz)")


def import_sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError) as err:  # OSError: the PortAudio library itself is missing
        raise AudioDeviceError(f"sounddevice is unavailable ({err}); {PORTAUDIO_HINT}") from None
    return sounddevice


def list_devices(kind: Kind | None = None) -> list[AudioDevice]:
    """All devices, or only those with input (or output) channels."""
    sd = import_sounddevice()
    hostapis = [api["name"] for api in sd.query_hostapis()]
    devices = [AudioDevice(index=int(info["index"]), name=str(info["name"]), hostapi=hostapis[info["hostapi"]],
                           max_input_channels=int(info["max_input_channels"]),
                           max_output_channels=int(info["max_output_channels"]),
                           default_samplerate=float(info["default_samplerate"]))
               for info in sd.query_devices()]
    return [d for d in devices if kind is None or d.channels(kind) > 0]


def format_devices(kind: Kind) -> str:
    """One line per device of that kind, indented, for error messages and `labvoice devices`."""
    devices = list_devices(kind)
    if not devices:
        return f"  (no {kind} devices found; is a sound card or PulseAudio/PipeWire available?)"
    return "\n".join(f"  {device.describe()}" for device in devices)


def _error(kind: Kind, problem: str) -> AudioDeviceError:
    key = CONFIG_KEYS[kind]
    return AudioDeviceError(
        f"{problem}. Set {key} in config/config.yaml (or {ENV_KEYS[kind]}) to a name or index "
        f"from the {kind} devices:\n{format_devices(kind)}")


def resolve_device(value: str | int | None, kind: Kind) -> AudioDevice:
    """Config value -> device: None = system default, int (or digits) = index, str = name substring.

    An exact name (case-insensitive) wins over a substring; among substrings the first listed wins.
    """
    sd = import_sounddevice()
    candidates = list_devices(kind)
    if value is None:
        default = sd.default.device[0 if kind == "input" else 1]
        if default is None or int(default) < 0:
            raise _error(kind, f"no default {kind} device")
        value = int(default)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        index = int(value)
        for device in candidates:
            if device.index == index:
                return device
        raise _error(kind, f"{CONFIG_KEYS[kind]} = {value!r}: no {kind} device has index {index}")
    wanted = str(value).strip().lower()
    exact = [d for d in candidates if d.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in candidates if wanted in d.name.lower()]
    if partial:
        if len(partial) > 1:
            log.warning("%s = %r matches %d %s devices; using %s", CONFIG_KEYS[kind], value, len(partial), kind,
                        partial[0].describe())
        return partial[0]
    raise _error(kind, f"{CONFIG_KEYS[kind]} = {value!r}: no {kind} device matches")


def supports(device: AudioDevice, kind: Kind, samplerate: float, channels: int) -> bool:
    """Whether PortAudio accepts these settings for the device (float32 samples)."""
    sd = import_sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=samplerate, channels=channels, dtype="float32")
    except (sd.PortAudioError, ValueError):
        return False
    return True


def close_stream(stream, what: str) -> bool:
    """Abort and close a PortAudio stream without letting a dead sound server hang the caller.

    When a sound server dies, libpulse (via ALSA) can deadlock inside abort/close; the work runs
    in a helper thread, and after CLOSE_TIMEOUT_S the stream is abandoned so restart() can go on.
    """
    done = threading.Event()

    def work() -> None:
        try:
            stream.abort()
            stream.close()
        except Exception as err:  # noqa: BLE001 - a vanished device may fail to close; nothing to do
            log.debug("closing %s: %s", what, err)
        finally:
            done.set()

    threading.Thread(target=work, name=f"close-{what}", daemon=True).start()
    if done.wait(CLOSE_TIMEOUT_S):
        return True
    log.warning("%s did not close within %.0f s (sound server gone?); abandoning it", what, CLOSE_TIMEOUT_S)
    return False
