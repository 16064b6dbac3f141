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

from scipy.signal import correlate

from labvoice.audio.resample import resample
from labvoice.benchmarks.human_speech import SpokenClip
from labvoice.benchmarks.pulse import SINK_RATE, VirtualAudio, reverberant
from labvoice.evaluation.scoring import rounded_percentile

SILENCE = 0.003            # peak level of a silent (flushed) speaker
FLUSH_ALLOWANCE_S = 0.3    # sound after a barge-in later than this is another turn, not this one's tail
PAUSE_GAP_S = 0.05         # silent this long before the cut: the answer was between sentences
ONSET_WINDOW_S = 0.02      # the person's first word: the first 20 ms window above ONSET_RMS
ONSET_RMS = 0.02
SPEAKING_TIMEOUT_S = 120.0
DETECT_GRACE_S = 1.5       # a barge-in later than the clip's end + this is not counted as detected
SETTLE_TIMEOUT_S = 8.0     # the listener closes the person's utterance within this (it may lag)


@dataclass(frozen=True, eq=False)
class PersonClip:
    """A person's utterance ready to play into the mic: its WAV, where its first word starts, and
    its samples at the sinks' rate (to find it again in a recording of the mic feed)."""

    wav: Path
    onset_s: float
    duration_s: float
    text: str
    at_sink_rate: np.ndarray


def voice_onset_s(audio: np.ndarray, rate: int) -> float:
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
        people.append(PersonClip(Path(wav), voice_onset_s(audio, rate), audio.size / rate, clip.text,
                                 resample(audio, rate, SINK_RATE)))
    return people


PROBE_S = 1.5              # the first 1.5 s of the clip find it in the mic feed


def heard_at(mic, person: PersonClip, t_from: float) -> float:
    """When the clip's first sample reached the microphone, from a recording of the mic feed that
    also holds the echo: the clip's opening by cross-correlation (the echo does not correlate)."""
    rate = mic.sample_rate
    start = max(0, mic.index_at(t_from) - rate // 5)
    segment = mic.audio[start:]
    probe = person.at_sink_rate[:int(PROBE_S * rate)]
    if segment.size < probe.size:
        raise ValueError("the mic-feed recording ends before the person's voice")
    score = correlate(segment, probe, mode="valid", method="fft")
    return mic.time_of(start + int(np.argmax(score)))


@dataclass(frozen=True)
class Trial:
    answer_turn: int
    talked_over: bool                   # the person spoke while the answer was still playing
    self_interrupted: bool              # cut by barge-in before the person spoke
    detected: bool                      # the person's speech interrupted the answer
    to_silence_ms: float | None         # person's first word at the mic -> speaker silent
    erle_db: float | None               # the canceller's ERLE over the answer's echo-only part
    echo_holds: int = 0                 # pauses of the answer before the person spoke (its own echo)
    echo_paused_ms: tuple[float, ...] = ()   # how long each of those lasted
    to_hold_ms: float | None = None     # person's first word at the mic -> the listener paused the answer (0: already paused)
    to_cut_ms: float | None = None      # person's first word at the mic -> the barge-in was confirmed (Interrupted)


def _silent_from(rec, t_cut: float, t_acted: float | None = None) -> float:
    """When the speaker went silent for good around the barge-in at t_cut: its last loud sample up
    to FLUSH_ALLOWANCE_S after the cut, or, when it was silent already (between sentences), the
    moment the app acted: the hold that paused the answer (`t_acted`, OutputHeld) or the cut."""
    t_acted = t_cut if t_acted is None else min(t_acted, t_cut)
    end = min(rec.audio.size, rec.index_at(t_cut + FLUSH_ALLOWANCE_S))
    loud = np.nonzero(np.abs(rec.audio[:end]) > SILENCE)[0]
    last = rec.time_of(int(loud[-1]) + 1) if loud.size else t_acted
    return last if last > t_acted - PAUSE_GAP_S else t_acted


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
              talk_after_s: float, workdir: Path, echo_stats=None, dump=None) -> Trial:
    """Ask `question` (typed), and `talk_after_s` after its audio starts play `person` into the mic.
    The speaker and the mic feed are recorded: when the person's voice reached the mic is found in
    the mic feed, when the answer went silent in the speaker's recording."""
    from labvoice.events import Interrupted, OutputHeld, StatusChanged, TurnEnded, Status

    mic_source = virtual.mic_feed_monitor
    virtual.record_speaker(workdir / "trial_speaker.wav")
    virtual.record_speaker(workdir / "trial_mic.wav", source=mic_source)

    def stop_recordings():
        return virtual.stop_recording(), virtual.stop_recording(mic_source)

    turn = orch.ask_text(question)
    seen = _events_until(events, time.monotonic() + SPEAKING_TIMEOUT_S,
                         lambda e: e.turn_id == turn and ((isinstance(e, StatusChanged) and e.status is Status.SPEAKING)
                                                          or isinstance(e, TurnEnded)))
    if not seen or isinstance(seen[-1], TurnEnded):
        stop_recordings()
        return Trial(turn, False, False, False, None, None)
    stats_start = echo_stats() if echo_stats else None
    seen = _events_until(events, time.monotonic() + talk_after_s,
                         lambda e: e.turn_id == turn and isinstance(e, (Interrupted, TurnEnded)))
    pauses = [e for e in seen if isinstance(e, OutputHeld) and e.turn_id == turn]
    if seen and isinstance(seen[-1], (Interrupted, TurnEnded)):
        self_cut = isinstance(seen[-1], Interrupted) and seen[-1].reason == "barge-in"
        stop_recordings()
        if self_cut and dump is not None:
            dump(turn)
        _settle(orch)
        return Trial(turn, False, self_cut, False, None, None, *_echo_pauses(pauses, float("inf")))
    erle = None
    if stats_start is not None:
        erle = echo_stats().since(stats_start).erle_db
    playback = virtual.play_into_mic(person.wav)
    deadline = playback.t_started + person.duration_s + DETECT_GRACE_S
    seen = _events_until(events, deadline,
                         lambda e: e.turn_id == turn and isinstance(e, (Interrupted, TurnEnded)))
    pauses += [e for e in seen if isinstance(e, OutputHeld) and e.turn_id == turn]
    holds = [e.t for e in pauses if e.held]
    cut = next((e for e in seen if isinstance(e, Interrupted) and e.turn_id == turn), None)
    ended_first = any(isinstance(e, TurnEnded) and e.turn_id == turn for e in seen) and cut is None
    playback.wait(30)
    time.sleep(0.3)
    speaker, mic = stop_recordings()
    t_voice = heard_at(mic, person, playback.t_started) + person.onset_s
    # Cut before the person's voice reached the mic: its own echo did it (events carry their time).
    self_cut = cut is not None and cut.reason == "barge-in" and cut.t < t_voice
    to_silence = to_hold = to_cut = None
    held = [t for t in holds if t >= t_voice]
    before = [e for e in pauses if e.t < t_voice]
    if before and before[-1].held:
        to_hold = 0.0       # an echo pause was still holding the answer when the person's voice arrived
    elif held:
        to_hold = round((held[0] - t_voice) * 1000, 1)
    if cut is not None and cut.reason == "barge-in" and not self_cut:
        held = [t for t in held if t <= cut.t]
        to_silence = round((_silent_from(speaker, cut.t, held[0] if held else None) - t_voice) * 1000, 1)
        to_cut = round((cut.t - t_voice) * 1000, 1)
    _settle(orch, events)   # the person spoke: their utterance becomes a turn of its own
    detected = cut is not None and cut.reason == "barge-in" and not self_cut
    talked_over = not ended_first or detected
    echo_holds, echo_paused_ms = _echo_pauses(pauses, t_voice)
    return Trial(turn, talked_over, self_cut, detected, to_silence, erle, echo_holds, echo_paused_ms, to_hold, to_cut)


def _echo_pauses(pauses: list, t_voice: float) -> tuple[int, tuple[float, ...]]:
    """Pauses of the answer that began before the person spoke (its own echo), and how long each
    lasted by the listener's clock (start -> the OutputHeld that ended it)."""
    count, lengths, started = 0, [], None
    for event in pauses:
        if event.held and event.t < t_voice:
            count, started = count + 1, event.t
        elif not event.held and started is not None:
            lengths.append(round((event.t - started) * 1000, 1))
            started = None
    return count, tuple(lengths)


def _settle(orch, events: "queue.Queue | None" = None) -> None:
    """End whatever the person's speech started (its own turn) and let the mic go quiet. The
    listener may lag behind the mic (it transcribes at pauses), so wait for it to close the
    person's utterance before cutting the turn that utterance starts."""
    from labvoice.events import TurnStarted, UtteranceEnded

    if events is not None:
        _events_until(events, time.monotonic() + SETTLE_TIMEOUT_S, lambda e: isinstance(e, UtteranceEnded))
        _events_until(events, time.monotonic() + 1.0, lambda e: isinstance(e, TurnStarted))
    else:
        time.sleep(0.8)
    orch.interrupt(reason="bench")
    time.sleep(0.4)
    orch.interrupt(reason="bench")
    time.sleep(0.4)


def summarize(trials: list[Trial]) -> dict:
    talked = [t for t in trials if t.talked_over]
    delays = [t.to_silence_ms for t in talked if t.detected and t.to_silence_ms is not None]
    erles = [t.erle_db for t in trials if t.erle_db is not None]
    paused = [ms for t in trials for ms in t.echo_paused_ms]
    return {
        "answers": len(trials),
        "self_interruptions": sum(t.self_interrupted for t in trials),
        "talked_over": len(talked),
        "barge_in_detected_share": round(sum(t.detected for t in talked) / len(talked), 3) if talked else None,
        "barge_in_to_silence_ms": {"p50": rounded_percentile(delays, 0.5), "p95": rounded_percentile(delays, 0.95)},
        "erle_db": round(statistics.median(erles), 1) if erles else None,
        # The cost of pausing on a first hint: answers paused by their own echo (they went on).
        "echo_holds": sum(t.echo_holds for t in trials),
        "answers_paused_by_echo": sum(t.echo_holds > 0 for t in trials),
        "echo_pause_ms": {"p50": rounded_percentile(paused, 0.5), "p95": rounded_percentile(paused, 0.95)},
    }
