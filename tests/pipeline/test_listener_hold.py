"""The listener pauses the answer on the first hint of a person talking over it (`hold_output`,
renewed while they go on) and interrupts only on speech that goes on once the echo has drained; a
blip lets the hold run out, so the answer goes on. Real Silero VAD on a real voice (LibriVox),
frames fed as the capture delivers them, a real TurnController."""
from __future__ import annotations

import queue
import threading
import time

import numpy as np

from labvoice.audio.capture import AudioFrame
from labvoice.events import Interrupted, OutputHeld
from labvoice.pipeline.control import TurnController
from labvoice.pipeline.hold import HOLD_DRAIN_S
from labvoice.pipeline.loops import Listener
from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions
from labvoice.benchmarks.human_speech import librivox_clips

FRAME = 512
RATE = 16000


def _frames(audio: np.ndarray, t0: float) -> list[AudioFrame]:
    usable = audio.size - audio.size % FRAME
    return [AudioFrame(audio[i:i + FRAME], t0 + i / RATE, t0 + (i + FRAME) / RATE,
                       float(np.sqrt(np.mean(audio[i:i + FRAME] ** 2))), i // FRAME)
            for i in range(0, usable, FRAME)]


def _listen_while_speaking(cpu_config, silero_vad, audio: np.ndarray):
    """Play `audio` into a listener while an answer is speaking; returns the events, the hold
    calls (frame time of the call, seconds asked) and the time the speech starts."""
    events, holds = [], []
    controller = TurnController(events.append)
    answer = controller.begin("text")
    assert controller.speaking(answer)
    frames: queue.Queue = queue.Queue()
    stop = threading.Event()
    silero_vad.reset()
    endpointer = EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad))
    config = cpu_config.replace(**{"pipeline.barge_in": "auto"})
    listener = Listener(frames, endpointer, config, controller, events.append, lambda *a: None, stop,
                        echo_cancelled=True, hold_output=lambda seconds: holds.append((fed[-1].t_end, seconds)))
    fed: list[AudioFrame] = []
    t0 = time.monotonic() + 0.05
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        for frame in _frames(audio, t0):
            fed.append(frame)
            frames.put(frame)
            time.sleep(0.004)      # the listener takes each frame before the next (fed[-1] is its frame)
            deadline = time.monotonic() + 2.0
            while not frames.empty() and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(0.004)
    finally:
        stop.set()
        thread.join(5)
    return events, holds, t0, answer.id


def _voice() -> np.ndarray:
    return librivox_clips()[2].audio


def test_talking_over_the_answer_pauses_it_then_interrupts_it(cpu_config, silero_vad):
    silence = np.zeros(int(0.6 * RATE), np.float32)
    events, holds, t0, answer = _listen_while_speaking(cpu_config, silero_vad,
                                                       np.concatenate((silence, _voice()[:2 * RATE], silence)))
    held = [e for e in events if isinstance(e, OutputHeld) and e.turn_id == answer]
    cut = [e for e in events if isinstance(e, Interrupted) and e.turn_id == answer]
    assert held and cut and cut[0].reason == "barge-in", events
    assert held[0].t <= cut[0].t, "the answer must pause before the barge-in is confirmed"
    first_hold = holds[0][0] - t0
    assert 0.6 < first_hold < 0.6 + 0.5, f"paused {first_hold - 0.6:.2f} s after the voice began"
    # Confirmed only on speech heard after the drain: the pause came well before the cut.
    assert holds[0][0] + HOLD_DRAIN_S <= max(h[0] for h in holds) + 1e-6


def test_a_blip_over_the_answer_lets_it_go_on(cpu_config, silero_vad):
    voice = _voice()
    window = int(0.16 * RATE)
    energy = np.convolve(voice ** 2, np.ones(window), mode="valid")
    loudest = int(np.argmax(energy))
    blip = voice[loudest:loudest + window]
    silence = np.zeros(int(0.6 * RATE), np.float32)
    events, holds, t0, answer = _listen_while_speaking(
        cpu_config, silero_vad, np.concatenate((silence, blip, np.zeros(RATE, np.float32))))
    assert not [e for e in events if isinstance(e, Interrupted)], events
    assert holds, "a voiced blip over the answer should pause it while the listener makes sure"
    # The renewals stop soon after the blip: the pause runs out and the answer goes on.
    blip_end = t0 + 0.6 + 0.16
    last_call, seconds = holds[-1]
    assert last_call + seconds < blip_end + 0.6, holds
    ends = [e for e in events if isinstance(e, OutputHeld) and e.turn_id == answer]
    assert [e.held for e in ends] == [True, False], ends


def test_no_hold_without_a_canceller_in_speaker_mode(cpu_config, silero_vad):
    """Without the canceller the echo itself is speech at the mic: pausing on it would stutter
    every answer, so speaker mode never holds."""
    events, holds = [], []
    controller = TurnController(events.append)
    listener = Listener(queue.Queue(), EndOfSpeechDetector(silero_vad, VadOptions.from_config(cpu_config.vad)),
                        cpu_config.replace(**{"pipeline.barge_in": "auto"}), controller, events.append,
                        lambda *a: None, threading.Event(), echo_cancelled=False, hold_output=holds.append)
    assert listener.hold_output is None and listener.barge_in == "speaker"


def test_the_hold_can_be_switched_off(cpu_config, silero_vad):
    silence = np.zeros(int(0.6 * RATE), np.float32)
    config = cpu_config.replace(**{"pipeline.barge_in_hold_ms": 0})
    events, holds, _, answer = _listen_while_speaking(config, silero_vad,
                                                      np.concatenate((silence, _voice()[:2 * RATE], silence)))
    assert holds == [] and not [e for e in events if isinstance(e, OutputHeld)]
    assert [e for e in events if isinstance(e, Interrupted) and e.turn_id == answer], "barge-in still works"
