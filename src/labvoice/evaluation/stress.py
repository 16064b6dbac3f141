"""Lifecycle stress: seeded random interleavings of typed and spoken questions, interrupts,
barge-ins, pause/resume and stop/start against one orchestrator on real models (and, when given,
the PulseAudio virtual microphone and speaker), with invariants checked after every step.

Invariants (a broken one is a violation, with the step it was seen at):
- every turn ends exactly once: each TurnStarted gets one TurnEnded; none ends twice, none ends
  without having started, and when the run settles none is left open;
- status and speaking agree: in every StatusChanged, speaking <=> status Speaking; after each step
  the controller's snapshot says the same, "speaking" is on only while a turn is being answered,
  and an interrupt or stop leaves it off;
- nothing stale is played: no ChunkPlayed of a turn after its Interrupted event, and (with the
  virtual speaker) the recording is silent outside the speaking intervals the status events
  announce, up to `overhang_s` after each one closes (the flush);
- no false error: no ErrorEvent at all (the devices stay up; every change here is a user action).

Used by tests/pipeline/test_stress.py (short, in `make test`) and scripts/soak.py --stress (long).
"""
from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from labvoice.evaluation.soak import SpokenQuestion
from labvoice.evaluation.turnlog import EventFollower
from labvoice.events import (ChunkPlayed, ErrorEvent, Event, Interrupted, Status, StatusChanged, TurnEnded,
                             TurnStarted)

log = logging.getLogger(__name__)

POLL_S = 0.05
# Steps, with weights. "wait" lets turns run and play; the rest change something at once.
ACTIONS = (("ask_text", 10), ("ask_audio", 3), ("speak", 4), ("barge_in", 3), ("interrupt", 5), ("pause", 2),
           ("resume", 3), ("stop_start", 1), ("wait", 10))
STEP_GAP_S = (0.0, 0.25)         # between two steps
BARGE_IN_QUESTION = "Which run had the best validation accuracy on mnist?"   # a long answer to talk over
BARGE_IN_WAIT_S = 30.0           # for that answer to start playing
WAIT_S = (0.2, 1.0)              # a "wait" step
SETTLE_EVERY = 50                # steps between two settles (every open turn ends, the segment is checked)
MIC_QUIET_S = 3.0                # after the mic's last words, this long without a new turn: it heard them all
SETTLE_TIMEOUT_S = 180.0         # a loaded 2-core box can take long over a few LLM answers; a hang still fails
OVERHANG_S = 0.2                 # audio allowed after "speaking" went off (flush, device latency)
LEAD_S = 0.05                    # and before it went on (the recording's clock is known to ~10-20 ms)
SILENCE_LEVEL = 0.003            # peak level of a silent virtual speaker
LOUD_RUN_S = 0.01                # this much audio above SILENCE_LEVEL in a row counts as sound
TRACE_EVENTS = 5000              # recent events kept to explain a violation


@dataclass
class StressResult:
    steps: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    action_seconds: dict[str, float] = field(default_factory=dict)
    turns_started: int = 0
    turns_ended: int = 0
    endings: dict[str, int] = field(default_factory=dict)
    barge_ins: int = 0
    interrupts: int = 0
    restarts: int = 0
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stale_audio: int = 0             # stretches of sound outside every speaking interval
    stale_chunks: int = 0            # ChunkPlayed after the turn's interrupt
    audio_checked_s: float = 0.0     # seconds of speaker recording checked
    max_overhang_ms: float = 0.0     # the longest sound after a speaking interval closed (within budget)
    threads_before: int = 0
    threads_after: int = 0
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"steps": self.steps, "violations": len(self.violations), "errors": len(self.errors),
                "stale_audio": self.stale_audio, "stale_chunks": self.stale_chunks,
                "turns_started": self.turns_started, "turns_ended": self.turns_ended, "endings": self.endings,
                "barge_ins": self.barge_ins, "interrupts": self.interrupts, "restarts": self.restarts,
                "audio_checked_s": round(self.audio_checked_s, 1), "max_overhang_ms": round(self.max_overhang_ms, 1),
                "threads_before": self.threads_before, "threads_after": self.threads_after,
                "seconds": round(self.seconds, 1), "actions": self.actions, "action_seconds": self.action_seconds,
                "violation_samples": self.violations[:10], "error_samples": self.errors[:10]}


class EventLedger(EventFollower):
    """Follows the event stream and checks the event invariants as they come."""

    thread_name = "stress-ledger"

    def __init__(self, events: "queue.Queue[Event]") -> None:
        super().__init__(events)
        self.started: dict[int, str] = {}
        self.ended: dict[int, str] = {}
        self.interrupted_at: dict[int, float] = {}
        self.speaking: list[tuple[float, bool]] = []     # (t, speaking) at every StatusChanged
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.barge_ins = 0
        self.stale_chunks = 0
        self.trace: list[tuple[float, str, int, str]] = []   # every event but mic levels, for reports
        self.start()

    def _record(self, event: Event) -> None:
        if not event.droppable or isinstance(event, ChunkPlayed):
            if isinstance(event, StatusChanged):
                detail = event.status.value + (" speaking" if event.speaking else "")
            elif isinstance(event, (Interrupted, TurnEnded)):
                detail = event.reason
            else:
                detail = ""
            self.trace.append((event.t, type(event).__name__, event.turn_id, detail))
            del self.trace[:-TRACE_EVENTS]
        if isinstance(event, TurnStarted):
            if event.turn_id in self.started:
                self.violations.append(f"turn {event.turn_id} started twice")
            self.started[event.turn_id] = event.source
        elif isinstance(event, TurnEnded):
            if event.turn_id not in self.started:
                self.violations.append(f"turn {event.turn_id} ended without starting")
            if event.turn_id in self.ended:
                self.violations.append(f"turn {event.turn_id} ended twice ({self.ended[event.turn_id]}, {event.reason})")
            self.ended[event.turn_id] = event.reason
        elif isinstance(event, StatusChanged):
            if event.speaking != (event.status is Status.SPEAKING):
                self.violations.append(f"status {event.status.value} with speaking={event.speaking}")
            self.speaking.append((event.t, event.speaking))
        elif isinstance(event, Interrupted):
            self.interrupted_at.setdefault(event.turn_id, event.t)
            self.barge_ins += event.reason == "barge-in"
        elif isinstance(event, ChunkPlayed):   # t: when the piece's last sample was heard
            cut = self.interrupted_at.get(event.turn_id)
            if cut is not None and event.t > cut + OVERHANG_S:
                self.stale_chunks += 1
                self.violations.append(f"turn {event.turn_id}: a piece reported played after its interrupt")
        elif isinstance(event, ErrorEvent):
            self.errors.append(f"turn {event.turn_id} {event.stage}: {event.message}")

    def open_turns(self) -> list[int]:
        with self._cond:
            return sorted(set(self.started) - set(self.ended))

    def speaking_intervals(self, since: float, until: float) -> list[tuple[float, float]]:
        """(on, off) intervals overlapping [since, until]; an interval still open ends at `until`."""
        with self._cond:
            changes = list(self.speaking)
        intervals, on = [], None
        for t, speaking in changes:
            if speaking and on is None:
                on = t
            elif not speaking and on is not None:
                intervals.append((on, t))
                on = None
        if on is not None:
            intervals.append((on, until))
        return [(a, b) for a, b in intervals if b >= since and a <= until]


class LifecycleStress:
    """Drives `orch` (started by the caller) through `steps` random steps; `mic` is the VirtualAudio
    (labvoice/benchmarks/pulse.py) or None (spoken questions then go through ask_audio only)."""

    def __init__(self, orch, questions: list[str], spoken: list[SpokenQuestion], mic=None, seed: int = 0,
                 workdir: Path | None = None, overhang_s: float = OVERHANG_S,
                 actions: tuple[tuple[str, int], ...] = ACTIONS) -> None:
        self.orch = orch
        self.questions = questions
        self.spoken = spoken
        self.mic = mic
        self.plan = random.Random(seed)          # which step comes next: the same sequence every run
        self.rng = random.Random(seed + 1)       # the details (question, gaps), some drawn only when needed
        self.workdir = Path(workdir) if workdir else None
        self.overhang_s = overhang_s
        names = [a for a, _ in actions if mic is not None or a not in ("speak", "barge_in")]
        self.names, self.weights = names, [dict(actions)[a] for a in names]
        self.result = StressResult()
        self.ledger = EventLedger(orch.events())
        self._playback = None
        self._stopped = False
        self._segment_start = 0.0

    # --- the steps ---------------------------------------------------------------------------
    def ask_text(self) -> None:
        self.orch.ask_text(self.rng.choice(self.questions))

    def ask_audio(self) -> None:
        self.orch.ask_audio(self.rng.choice(self.spoken).audio16k)

    def _mic_busy(self) -> bool:
        return self._playback is not None and self._playback.process.poll() is None

    def speak(self) -> None:
        """A person asks aloud (one at a time: a second speaker would overlap the first)."""
        if self.mic is None or self._mic_busy():
            return
        self._playback = self.mic.play_into_mic(self.rng.choice(self.spoken).wav)

    def barge_in(self) -> None:
        """Talk while it speaks: if nothing is speaking, ask for a long answer (it spells a run id)
        and wait for it to start; then a spoken question goes into the microphone."""
        if self.mic is None or self._mic_busy() or self._stopped:
            return
        if not self.orch.snapshot().speaking:
            self.orch.ask_text(BARGE_IN_QUESTION)
            self.ledger.wait_for(lambda: self.orch.snapshot().speaking, BARGE_IN_WAIT_S)
        self.speak()

    def interrupt(self) -> None:
        cut = self.orch.interrupt()
        self.result.interrupts += 1
        self._expect_quiet("interrupt", cut)

    def pause(self) -> None:
        self.orch.pause()

    def resume(self) -> None:
        self.orch.resume()

    def stop_start(self) -> None:
        if self._stopped:
            self.orch.start()
            self._stopped = False
            self.result.restarts += 1
            return
        self.orch.stop()
        self._stopped = True
        snap = self.orch.snapshot()
        if snap.open_turns or snap.speaking or snap.status is not Status.IDLE:
            self._violation(f"after stop: {snap.open_turns} open turns, status {snap.status.value}, "
                            f"speaking {snap.speaking}")

    def wait(self) -> None:
        time.sleep(self.rng.uniform(*WAIT_S))

    # --- checks ------------------------------------------------------------------------------
    def _violation(self, what: str) -> None:
        self.result.violations.append(f"step {self.result.steps}: {what}")
        log.warning("violation at step %d: %s", self.result.steps, what)

    def _expect_quiet(self, after: str, cut_id: int) -> None:
        """Nothing from before the cut is answered or speaking (the mic may have begun a newer turn)."""
        snap = self.orch.snapshot()
        old_active = snap.active_turn is not None and snap.active_turn < cut_id
        if old_active or (snap.speaking and snap.active_turn is None):
            self._violation(f"after {after}: status {snap.status.value}, speaking {snap.speaking}, "
                            f"active turn {snap.active_turn} (cut at {cut_id})")

    def check_step(self) -> None:
        snap = self.orch.snapshot()
        if snap.speaking != (snap.status is Status.SPEAKING):
            self._violation(f"snapshot: status {snap.status.value} with speaking={snap.speaking}")
        if snap.speaking and snap.active_turn is None:
            self._violation("speaking with no turn being answered")
        with self.ledger.lock:
            new = self.ledger.violations[len(self._seen_violations):]
            self._seen_violations.extend(new)
        for what in new:
            self._violation(what)

    def settle(self) -> None:
        """Let every open turn end and the mic fall silent, then check the segment's audio."""
        if self._playback is not None:
            self._playback.wait(SETTLE_TIMEOUT_S)
            self._playback = None
            self._mic_quiet()
        ok = self.ledger.wait_for(lambda: set(self.ledger.started) <= set(self.ledger.ended)
                              and not self.orch.snapshot().speaking, SETTLE_TIMEOUT_S)
        if not ok:
            self._violation(f"turns {self.ledger.open_turns()} did not end within {SETTLE_TIMEOUT_S:.0f} s")
        snap = self.orch.snapshot()
        if snap.open_turns:
            self._violation(f"settled with {snap.open_turns} turns open in the controller")
        # After whatever came before, the next question is answered to the end.
        probe = self.orch.ask_text(self.questions[0])
        if not self.ledger.wait_for(lambda: probe in self.ledger.ended, SETTLE_TIMEOUT_S):
            self._violation(f"the question after settling (turn {probe}) did not end")
        elif self.ledger.ended[probe] != "done":
            self._violation(f"the question after settling (turn {probe}) ended {self.ledger.ended[probe]}")
        self._check_audio()

    def _mic_quiet(self) -> None:
        """The mic's last words become a turn only after the endpointer's silence wait (the turn
        model, its fallback, a busy CPU): wait until no turn has started for MIC_QUIET_S."""
        t_end = time.monotonic()
        deadline = t_end + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            with self.ledger.lock:
                last = max((t for t, name, _, _ in self.ledger.trace if name == "TurnStarted"), default=0.0)
            quiet_from = max(t_end, last)
            if time.monotonic() - quiet_from >= MIC_QUIET_S:
                return
            time.sleep(max(0.0, quiet_from + MIC_QUIET_S - time.monotonic()))

    def _record(self) -> None:
        if self.mic is not None and self.workdir is not None:
            self.mic.record_speaker(self.workdir / "stress-speaker.wav")
            self._segment_start = time.monotonic()

    def _check_audio(self) -> None:
        if self.mic is None or self.workdir is None:
            return
        time.sleep(self.overhang_s)
        recording = self.mic.stop_recording()
        until = time.monotonic()
        intervals = self.ledger.speaking_intervals(self._segment_start, until)
        loud = np.abs(recording.audio) > SILENCE_LEVEL
        allowed = np.zeros(len(loud), dtype=bool)
        for on, off in intervals:
            allowed[max(0, recording.index_at(on - LEAD_S)):max(0, recording.index_at(off + self.overhang_s))] = True
        for on, off in intervals:   # how far past "speaking off" sound went (within the budget)
            a, b = max(0, recording.index_at(off)), max(0, recording.index_at(off + self.overhang_s))
            tail = np.nonzero(loud[a:b])[0]
            if tail.size:
                self.result.max_overhang_ms = max(self.result.max_overhang_ms,
                                                  (tail[-1] + 1) / recording.sample_rate * 1000)
        stale = loud & ~allowed
        run = max(1, int(LOUD_RUN_S * recording.sample_rate))
        # sound = a run of `run` stale samples above the level (a click of one sample is not a sentence)
        if stale.any():
            counts = np.convolve(stale.astype(np.int32), np.ones(run, dtype=np.int32), mode="valid")
            stretches = np.nonzero(np.diff(np.concatenate([[0], (counts >= run).astype(np.int8)])) == 1)[0]
            for start in stretches:
                self.result.stale_audio += 1
                self._violation(self._explain(recording, int(start), stale, intervals))
        self.result.audio_checked_s += len(recording.audio) / recording.sample_rate
        self._record()

    def _explain(self, recording, start: int, stale: np.ndarray, intervals) -> str:
        """What sounded where it should not, and what happened around it; the recording is kept."""
        end = start + int(np.argmin(stale[start:])) if not stale[start:].all() else len(stale)
        t0, t1 = recording.time_of(start), recording.time_of(end)
        before = [off for _, off in intervals if off <= t0]
        after = [on for on, _ in intervals if on >= t0]
        kept = self.workdir / f"stress-stale-{self.result.stale_audio}.wav"
        kept.write_bytes(recording.path.read_bytes())
        with self.ledger.lock:
            near = [f"{t - t0:+.2f} {name} {turn} {detail}".strip() for t, name, turn, detail in self.ledger.trace
                    if t0 - 2.0 <= t <= t1 + 0.5]
        steps = [f"{t - t0:+.2f} step {n} {action}" for t, n, action in self._steps if t0 - 3.0 <= t <= t1 + 0.5]
        gaps = (f"last speaking interval closed {t0 - before[-1]:.2f} s before" if before else "none closed before")
        gaps += f", next opens {after[0] - t0:.2f} s after" if after else ", none opens after"
        return (f"sound {t0 - self._segment_start:.2f}-{t1 - self._segment_start:.2f} s into the segment outside every "
                f"speaking interval ({gaps}; recording {kept}): " + "; ".join(steps + near))

    # --- the run -----------------------------------------------------------------------------
    def run(self, steps: int, progress: Callable[[StressResult], None] | None = None) -> StressResult:
        res = self.result
        self._seen_violations: list[str] = []
        self._steps: list[tuple[float, int, str]] = []
        res.threads_before = threading.active_count()   # the orchestrator running, nothing recording
        started = time.monotonic()
        self._record()
        try:
            for step in range(1, steps + 1):
                res.steps = step
                action = self.plan.choices(self.names, self.weights)[0]
                res.actions[action] = res.actions.get(action, 0) + 1
                t_action = time.monotonic()
                self._steps.append((t_action, step, action))
                del self._steps[:-TRACE_EVENTS]
                getattr(self, action)()
                self._spent(action, t_action)
                self.check_step()
                if step % SETTLE_EVERY == 0 or step == steps:
                    t_action = time.monotonic()
                    if self._stopped:
                        self.orch.start()
                        self._stopped = False
                        res.restarts += 1
                    self.settle()
                    self._spent("settle", t_action)
                    self.check_step()
                    if progress is not None:
                        progress(self._finish())
                time.sleep(self.rng.uniform(*STEP_GAP_S))
        finally:
            if self.mic is not None and self.workdir is not None:
                try:
                    self.mic.stop_recording()
                except Exception:  # noqa: BLE001 - not recording (a failed step): nothing to stop
                    pass
            if self._stopped:
                self.orch.start()
        res.seconds = time.monotonic() - started
        res.threads_after = threading.active_count()      # the same state again
        return self._finish()

    def _spent(self, action: str, since: float) -> None:
        seconds = self.result.action_seconds
        seconds[action] = round(seconds.get(action, 0.0) + time.monotonic() - since, 1)

    def _finish(self) -> StressResult:
        res, ledger = self.result, self.ledger
        with ledger.lock:
            res.turns_started, res.turns_ended = len(ledger.started), len(ledger.ended)
            res.endings = {}
            for reason in ledger.ended.values():
                res.endings[reason] = res.endings.get(reason, 0) + 1
            res.errors = list(ledger.errors)
            res.barge_ins = ledger.barge_ins
            res.stale_chunks = ledger.stale_chunks
        return res

    def close(self) -> None:
        self.ledger.stop()
