"""Talking over the assistant through the echo path: one trial = one answer played on the virtual
speaker (which the echo path feeds back into the mic) and a real person's voice played into the mic
part-way through. Shared by tests/pipeline/test_echo_barge_in.py and scripts/bench_barge_in.py.

A trial reports whether the answer was cut before the person spoke (a self-interruption: its own
echo), whether the person's barge-in was detected, and the delay from the person's first word
reaching the mic to silence on the speaker (from the speaker's recording).
"""
from __future__ import annotations

import queue
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from tests.support.human_speech import SAMPLE_RATE, SpokenClip
from tests.support.pulse import VirtualAudio, reverberant

SILENCE = 0.003            # peak level of a silent (flushed) speaker
QUIET_RUN_S = 0.2          # this long below SILENCE = the speaker has gone quiet
ONSET_WINDOW_S = 0.02      # the person's first word: the first 20 ms window above ONSET_RMS
ONSET_RMS = 0.02
SPEAKING_TIMEOUT_S = 120.0
DETECT_GRACE_S = 1.5       # a barge-in later than the clip's end + this is not counted as detected


@dataclass(frozen=True)
class PersonClip:
    """A person's utterance ready to play into the mic: its WAV and where its first word starts."""

    wav: Path
    onset_s: float
    duration_s: float
    text: str


def voice_onset_s(audio: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    window = int(ONSET_WINDOW_S * rate)
    usable = audio.size - audio.size % window
    rms = np.sqrt(np.mean(audio[:usable].reshape(-1, window) ** 2, axis=1))
    loud = np.nonzero(rms > ONSET_RMS)[0]
    return float(loud[0] * window) / rate if loud.size else 0.0


def prepare_people(clips: tuple[SpokenClip, ...], folder: Path, reverb: bool = True) -> list[PersonClip]:
    """Each LibriVox clip as heard across a room (sox reverb), with its speech onset."""
    folder.mkdir(parents=True, exist_ok=True)
    people = []
    for i, clip in enumerate(clips):
        wav = clip.path
        if reverb:
            wav = reverberant(clip.path, folder / f"person{i}.wav", reverberance=30, room_scale=50)
        audio, rate = soundfile.read(str(wav), dtype="float32")
        audio = audio if audio.ndim == 1 else audio.mean(axis=1)
        people.append(PersonClip(Path(wav), voice_onset_s(audio, rate), audio.size / rate, clip.text))
    return people


def mic_feed_latency_s(virtual: VirtualAudio, person: PersonClip, folder: Path, repeats: int = 3) -> float:
    """Median delay from `paplay` starting to the clip's first word reaching the mic feed: the
    offset between a trial's `t_started` and what the microphone hears (measured, not assumed)."""
    delays = []
    for i in range(repeats):
        virtual.record_speaker(folder / f"calibrate{i}.wav", source=virtual.mic_feed_monitor)
        time.sleep(0.3)
        playback = virtual.play_into_mic(person.wav)
        playback.wait(30)
        time.sleep(0.2)
        rec = virtual.stop_recording()
        heard = voice_onset_s(rec.audio, rec.sample_rate)
        delays.append(rec.time_of(int(heard * rec.sample_rate)) - (playback.t_started + person.onset_s))
    return statistics.median(delays)


@dataclass(frozen=True)
class Trial:
    answer_turn: int
    talked_over: bool                   # the person spoke while the answer was still playing
    self_interrupted: bool              # cut by barge-in before the person spoke
    detected: bool                      # the person's speech interrupted the answer
    to_silence_ms: float | None         # person's first word at the mic -> speaker silent
    erle_db: float | None               # the canceller's ERLE over the answer's echo-only part


def _speaker_quiet_at(rec, t_from: float) -> float | None:
    """First time after t_from from which the speaker stays below SILENCE for QUIET_RUN_S."""
    start = max(0, rec.index_at(t_from))
    loud = np.abs(rec.audio[start:]) > SILENCE
    run = int(QUIET_RUN_S * rec.sample_rate)
    last_loud = -1
    for i in np.nonzero(loud)[0]:
        if i - last_loud > run:
            break
        last_loud = i
    else:
        if loud.size - last_loud <= run:
            return None
    return rec.time_of(start + last_loud + 1)


def _events_until(events: "queue.Queue", deadline: float, stop) -> list:
    seen = []
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.02)
        except queue.Empty:
            continue
        seen.append(event)
        if stop(event):
            break
    return seen


def run_trial(orch, events: "queue.Queue", virtual: VirtualAudio, question: str, person: PersonClip,
              talk_after_s: float, feed_latency_s: float, workdir: Path, echo_stats=None) -> Trial:
    """Ask `question` (typed), and `talk_after_s` after its audio starts play `person` into the mic."""
    from labvoice.events import Interrupted, StatusChanged, TurnEnded, Status

    virtual.record_speaker(workdir / "trial.wav")
    turn = orch.ask_text(question)
    seen = _events_until(events, time.monotonic() + SPEAKING_TIMEOUT_S,
                         lambda e: e.turn_id == turn and ((isinstance(e, StatusChanged) and e.status is Status.SPEAKING)
                                                          or isinstance(e, TurnEnded)))
    if not seen or isinstance(seen[-1], TurnEnded):
        virtual.stop_recording()
        return Trial(turn, False, False, False, None, None)
    stats_start = echo_stats() if echo_stats else None
    seen = _events_until(events, time.monotonic() + talk_after_s,
                         lambda e: e.turn_id == turn and isinstance(e, (Interrupted, TurnEnded)))
    if seen and isinstance(seen[-1], (Interrupted, TurnEnded)):
        self_cut = isinstance(seen[-1], Interrupted) and seen[-1].reason == "barge-in"
        virtual.stop_recording()
        _settle(orch, virtual, workdir)
        return Trial(turn, False, self_cut, False, None, None)
    erle = None
    if stats_start is not None:
        erle = echo_stats().since(stats_start).erle_db
    playback = virtual.play_into_mic(person.wav)
    t_voice = playback.t_started + person.onset_s + feed_latency_s
    deadline = playback.t_started + person.duration_s + DETECT_GRACE_S
    seen = _events_until(events, deadline,
                         lambda e: e.turn_id == turn and isinstance(e, (Interrupted, TurnEnded)))
    cut = next((e for e in seen if isinstance(e, Interrupted) and e.turn_id == turn), None)
    ended_first = any(isinstance(e, TurnEnded) and e.turn_id == turn for e in seen) and cut is None
    playback.wait(30)
    time.sleep(0.3)
    rec = virtual.stop_recording()
    # Cut before the person's voice reached the mic: its own echo did it (events carry their time).
    self_cut = cut is not None and cut.reason == "barge-in" and getattr(cut, "t", t_voice + 1) < t_voice
    to_silence = None
    if cut is not None and cut.reason == "barge-in" and not self_cut:
        quiet = _speaker_quiet_at(rec, t_voice)
        to_silence = None if quiet is None else round((quiet - t_voice) * 1000, 1)
    _settle(orch, virtual, workdir)
    detected = cut is not None and cut.reason == "barge-in" and not self_cut
    return Trial(turn, not ended_first, self_cut, detected, to_silence, erle)


def _settle(orch, virtual: VirtualAudio, workdir: Path) -> None:
    """End whatever the person's speech started (its own turn) and let the mic go quiet."""
    time.sleep(0.8)
    orch.interrupt(reason="bench")
    time.sleep(0.4)
    orch.interrupt(reason="bench")
    time.sleep(0.4)


def summarize(trials: list[Trial]) -> dict:
    def pct(values, q):
        if not values:
            return None
        ordered = sorted(values)
        k = (len(ordered) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)

    talked = [t for t in trials if t.talked_over]
    delays = [t.to_silence_ms for t in talked if t.detected and t.to_silence_ms is not None]
    erles = [t.erle_db for t in trials if t.erle_db is not None]
    return {
        "answers": len(trials),
        "self_interruptions": sum(t.self_interrupted for t in trials),
        "talked_over": len(talked),
        "barge_in_detected_share": round(sum(t.detected for t in talked) / len(talked), 3) if talked else None,
        "barge_in_to_silence_ms": {"p50": pct(delays, 0.5), "p95": pct(delays, 0.95)},
        "erle_db": round(statistics.median(erles), 1) if erles else None,
    }
