"""Device lookup on the virtual PulseAudio devices, and the message when a device is missing."""
from __future__ import annotations

import pytest

from labvoice.audio.devices import AudioDeviceError, format_devices, list_devices, resolve_device


def test_virtual_devices_are_listed(virtual_audio):
    inputs = {d.name for d in list_devices("input")}
    outputs = {d.name for d in list_devices("output")}
    assert {virtual_audio.input_device, virtual_audio.monitor_device} <= inputs
    assert virtual_audio.output_device in outputs


def test_resolve_by_name_substring_index_and_default(virtual_audio):
    mic = resolve_device(virtual_audio.input_device, "input")
    assert mic.name == virtual_audio.input_device and mic.max_input_channels > 0
    assert resolve_device(mic.index, "input") == mic
    assert resolve_device(str(mic.index), "input") == mic
    assert resolve_device("VMI", "input") == mic                      # case-insensitive substring
    assert resolve_device("vspk", "output").name == "vspk"           # exact beats the substring in "vspk"
    assert resolve_device(None, "output").max_output_channels > 0     # the system default


@pytest.mark.parametrize("kind,key", [("input", "audio.input_device"), ("output", "audio.output_device")])
def test_missing_device_lists_the_devices_and_the_key(virtual_audio, kind, key):
    with pytest.raises(AudioDeviceError) as info:
        resolve_device("no such microphone", kind)
    lines = str(info.value).splitlines()
    assert key in lines[0] and "no such microphone" in lines[0]
    listed = lines[1:]
    devices = list_devices(kind)
    assert len(listed) == len(devices)
    for device, line in zip(devices, listed):
        assert f"[{device.index}] {device.name}" in line
    assert format_devices(kind).splitlines() == listed


def test_bad_index_is_reported(virtual_audio):
    with pytest.raises(AudioDeviceError, match=r"no input device has index 999"):
        resolve_device(999, "input")


def test_capture_with_missing_device_raises_clear_error(virtual_audio):
    from labvoice.audio.capture import MicrophoneCapture

    capture = MicrophoneCapture("missing-mic")
    with pytest.raises(AudioDeviceError, match="audio.input_device"):
        capture.start()
    assert not capture.running
