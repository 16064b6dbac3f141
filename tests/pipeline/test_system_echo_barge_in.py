"""`audio.echo_canceller: system` through the app, on a desktop that runs the sound server's
module-echo-cancel already: start() moves the app's own streams onto it (the app runs no canceller
of its own), an answer plays through it, and stop() leaves the desktop's canceller loaded. (A
canceller the app loads itself is unloaded: tests/audio/test_system_echo.py.) How much echo the
server's canceller removes is not asserted: on the loaded 2-core virtual path PulseAudio's WebRTC
canceller converged in most runs (25-66 dB) but not in all (~0 dB), which is why the in-app AEC3
stays the default."""
from __future__ import annotations

import os
import queue
import subprocess
import time

import pytest

from labvoice.audio.system_echo import SINK_NAME, SOURCE_NAME, load_canceller, own_streams
from labvoice.pipeline.orchestrator import Orchestrator
from labvoice.benchmarks.pulse import SPEAKER_SINK

LONG_ANSWER = "What are the top five runs by test accuracy?"
CONVERGE_S = 5.0


@pytest.fixture()
def desktop_canceller(virtual_audio, piper_synthesizer, tmp_path):
    """module-echo-cancel between the virtual mic and speaker, run for a few seconds of (Piper) speech
    over the echo path, as on a desktop that has been running it."""
    from labvoice.audio.wavio import write_wav

    module = load_canceller(source_master=virtual_audio.input_device, sink_master=SPEAKER_SINK)
    speech = piper_synthesizer.synthesize_all("Runs on digits and wine have been trained all week. The random "
                                              "forest led on accuracy, and the perceptron trained fastest.")
    wav = write_wav(tmp_path / "warm.wav", speech, piper_synthesizer.sample_rate)
    listen = subprocess.Popen(["parec", f"--device={SOURCE_NAME}", "--raw"], env={**os.environ, **virtual_audio.env},
                              stdout=subprocess.DEVNULL)     # the canceller runs while its source is used
    try:
        with virtual_audio.echo_path(latency_ms=60, attenuation_db=6):
            deadline = time.monotonic() + CONVERGE_S
            while time.monotonic() < deadline:
                subprocess.run(["paplay", f"--device={SINK_NAME}", str(wav)], env={**os.environ, **virtual_audio.env},
                               check=True, timeout=60)
        yield module
    finally:
        listen.terminate()
        listen.wait(5)
        virtual_audio.pactl("unload-module", module)


def test_the_app_joins_the_desktop_canceller(live_config, live_stages, virtual_audio, desktop_canceller):
    config = live_config.replace(**{"audio.echo_canceller": "system"})
    assert config.pipeline.barge_in == "auto"
    orch = Orchestrator(config, stages=live_stages)
    events = orch.events()
    orch.start()
    try:
        assert orch.echo_canceller is None                 # the server cancels, not the app
        mine = own_streams()
        assert {name for _, name in mine.playback} == {SINK_NAME}
        assert {name for _, name in mine.capture} == {SOURCE_NAME}
        turn = orch.ask_text(LONG_ANSWER)
        played = _first_audio(events, turn)
    finally:
        orch.stop()
    assert played, "no answer audio reached the speaker through the system canceller"
    assert SOURCE_NAME in virtual_audio.pactl("list", "short", "sources")   # the desktop's: left loaded


def _first_audio(events, turn: int, timeout_s: float = 60.0) -> bool:
    from labvoice.events import ChunkPlayed, TurnEnded

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.2)
        except queue.Empty:
            continue
        if event.turn_id == turn and isinstance(event, ChunkPlayed):
            return True
        if event.turn_id == turn and isinstance(event, TurnEnded):
            return False
    return False
