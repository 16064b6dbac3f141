"""The soak: many turns through one running orchestrator, with interrupts, barge-ins, typed and
spoken questions and style changes, measuring what must not drift (threads, memory, latency) and
what must never happen (errors, audio of an interrupted turn heard after the interrupt).

The actions repeat in blocks of `BLOCK_TURNS` turns with a fixed mix (shuffled inside a block), so
every quarter of a run has the same mix and first-vs-last-quarter latency compares like with like.
Spoken questions go through the virtual microphone when `mic` is given (PulseAudio, see
labvoice/benchmarks/pulse.py), else through `ask_audio` (the same VAD-less utterance a file gives).
When `mic` can record the virtual speaker, every interrupt is also checked on the recording: the
speaker must be silent from 50 ms after the interrupt until the next turn speaks.
"""
from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import psutil

from labvoice.evaluation.memory import GrowingSite, MemoryTrace, malloc_mb
from labvoice.evaluation.scoring import percentile
from labvoice.evaluation.turnlog import TurnTracker

log = logging.getLogger(__name__)

# One block: (action, how many of it); the turns they make add up to BLOCK_TURNS.
BLOCK = (("text", 9), ("text_interrupt", 3), ("supersede", 2), ("spoken", 3), ("barge_in", 2), ("audio", 2))
TURNS_PER_ACTION = {"text": 1, "text_interrupt": 1, "supersede": 2, "spoken": 1, "barge_in": 2, "audio": 1}
BLOCK_TURNS = sum(TURNS_PER_ACTION[a] * n for a, n in BLOCK)   # 25
STYLE_CHANGE_P = 0.15
SOAK_VERBOSITY = (0.0, 0.15)       # one-sentence answers: short turns
INTERRUPT_AFTER_S = (0.15, 0.8)    # after the turn starts speaking
TURN_TIMEOUT_S = 120.0
SPEAK_TIMEOUT_S = 60.0
SILENCE_BUDGET_S = 0.050           # the product's target: silence within 50 ms of an interrupt
STALE_WINDOW_S = 0.6               # how long after an interrupt the recording is checked
SILENCE_LEVEL = 0.003              # peak level of a silent virtual speaker
MIN_CHECKED_S = 0.2                # a recording covering less of the window than this is not counted
RSS_TRACE_POINTS = 10
WARMUP_TURNS = 3
RSS_SLOPE_TURNS = 200              # the slope is fitted over the last 200 turns ...
RSS_SLOPE_FRACTION = 2 / 3         # ... or the last two thirds of a shorter run (first-use allocations left out)
TRACE_BASELINE_TURN = 20           # tracemalloc's baseline snapshot (a third of the run if shorter)
GROWING_SITES = 10


@dataclass(frozen=True)
class SpokenQuestion:
    text: str
    wav: Path                 # at the voice's rate, padded with silence (for the virtual mic)
    audio16k: np.ndarray      # the same speech at the pipeline rate (for ask_audio)


@dataclass
class SoakResult:
    turns: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    hung_turns: int = 0
    threads_start: int = 0
    threads_end: int = 0
    os_threads_start: int = 0
    os_threads_end: int = 0
    rss_mb: list[float] = field(default_factory=list)      # after each action ...
    rss_turns: list[int] = field(default_factory=list)     # ... and how many turns had ended by then
    rss_actions: list[str] = field(default_factory=list)   # ... and the action just run
    malloc_in_use_mb: list[float] = field(default_factory=list)   # glibc: handed out, not returned
    malloc_free_held_mb: list[float] = field(default_factory=list)  # glibc: free, still held
    latencies: list[float] = field(default_factory=list)   # first audio ms, in turn order (None: no audio)
    latency_sources: list[str] = field(default_factory=list)  # text | voice, for each latency
    ended: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    action_seconds: dict[str, float] = field(default_factory=dict)
    style_changes: int = 0
    interrupts: int = 0
    stale_events: int = 0
    stale_recorded: int = 0
    recordings_checked: int = 0
    barge_ins_missed: int = 0
    seconds: float = 0.0
    trace_baseline_turn: int | None = None
    tracemalloc_overhead_mb: float = 0.0
    growing_sites: list[GrowingSite] = field(default_factory=list)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def slope_per_100(turns: list[int], values: list[float]) -> float | None:
    """Least-squares slope of values against the turn count, per 100 turns."""
    if len(values) < 2 or len(set(turns)) < 2:
        return None
    return float(np.polyfit(np.asarray(turns, dtype=float), np.asarray(values, dtype=float), 1)[0] * 100)


def slope_window(total_turns: int) -> int:
    """How many of the last turns the RSS slope is fitted over: 200, or two thirds of a shorter run."""
    return min(RSS_SLOPE_TURNS, max(2, round(total_turns * RSS_SLOPE_FRACTION)))


def tail_slope(turns: list[int], values: list[float]) -> float | None:
    """The slope per 100 turns over the last `slope_window` turns of the run."""
    if not turns:
        return None
    first = turns[-1] - slope_window(turns[-1])
    picked = [(t, v) for t, v in zip(turns, values) if t >= first]
    return slope_per_100([t for t, _ in picked], [v for _, v in picked])


class Soak:
    def __init__(self, orch, questions: list[str], spoken: list[SpokenQuestion], mic=None,
                 seed: int = 0, workdir: Path | None = None, block: tuple[tuple[str, int], ...] = BLOCK,
                 trace_memory: bool = True) -> None:
        self.orch = orch
        self.block = block
        self.questions = questions
        self.spoken_questions = spoken
        self.mic = mic                       # VirtualAudio or None
        self.rng = random.Random(seed)
        self.tracker = TurnTracker(orch.events()).start()
        self.result = SoakResult()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="labvoice-soak-"))
        self._recordings = 0
        self.memory = MemoryTrace() if trace_memory else None

    # --- helpers ------------------------------------------------------------------------------
    def _question(self) -> str:
        return self.rng.choice(self.questions)

    def _spoken(self) -> SpokenQuestion:
        return self.rng.choice(self.spoken_questions)

    def _wait(self, turn_id: int) -> None:
        if self.tracker.wait_ended(turn_id, TURN_TIMEOUT_S) is None:
            self.result.hung_turns += 1
            self.orch.interrupt(reason="soak: turn hung")

    def _speaking(self, turn_id: int) -> bool:
        return self.tracker.wait_speaking(turn_id, SPEAK_TIMEOUT_S)

    def _record_start(self) -> bool:
        if self.mic is None:
            return False
        self._recordings += 1
        self.mic.record_speaker(self.workdir / f"speaker-{self._recordings % 2}.wav")
        return True

    def _record_check(self, interrupted_turn: int, next_turn: int | None) -> None:
        """Stop recording once the window after the interrupt has passed; count audio heard in it."""
        t_int = self.tracker.turns[interrupted_turn].interrupted_at
        if t_int is None:
            self.mic.stop_recording()
            return
        time.sleep(max(0.0, t_int + STALE_WINDOW_S - time.monotonic()))
        recording = self.mic.stop_recording()
        t_end = t_int + STALE_WINDOW_S
        if next_turn is not None and (t_next := self.tracker.turns.get(next_turn)) and t_next.speaking_at:
            t_end = min(t_end, t_next.speaking_at)
        start = max(0, recording.index_at(t_int + SILENCE_BUDGET_S))
        stop = min(len(recording.audio), recording.index_at(t_end))
        if stop - start < MIN_CHECKED_S * recording.sample_rate:
            return   # the recording does not cover enough of the window (parec started late): not checkable
        self.result.recordings_checked += 1
        if float(np.abs(recording.audio[start:stop]).max()) > SILENCE_LEVEL:
            self.result.stale_recorded += 1
            log.warning("audio of turn %d heard %.0f ms after its interrupt", interrupted_turn,
                        (t_end - t_int) * 1000)

    def _interrupt_later(self, turn_id: int, interrupt: Callable[[], int | None]) -> int | None:
        """Once `turn_id` speaks: record, wait a little, interrupt; returns the follow-up turn, if any."""
        if not self._speaking(turn_id):
            self._wait(turn_id)
            return None
        recording = self._record_start()
        time.sleep(self.rng.uniform(*INTERRUPT_AFTER_S))
        follow_up = interrupt()
        self.result.interrupts += 1
        self._wait(turn_id)
        if recording:
            self._record_check(turn_id, follow_up)
        return follow_up

    # --- actions ------------------------------------------------------------------------------
    def text(self) -> None:
        self._wait(self.orch.ask_text(self._question()))

    def _stop_button(self) -> None:
        self.orch.interrupt(reason="soak: stop button")

    def text_interrupt(self) -> None:
        turn = self.orch.ask_text(self._question())
        self._interrupt_later(turn, self._stop_button)

    def supersede(self) -> None:
        turn = self.orch.ask_text(self._question())
        follow_up = self._interrupt_later(turn, lambda: self.orch.ask_text(self._question()))
        self._wait(follow_up if follow_up is not None else self.orch.ask_text(self._question()))

    def audio(self) -> None:
        self._wait(self.orch.ask_audio(self._spoken().audio16k))

    def spoken(self) -> None:
        if self.mic is None:
            return self.audio()
        before = self.orch.current_turn
        playback = self.mic.play_into_mic(self._spoken().wav)
        if self.tracker.wait_new_turn_ended(before, TURN_TIMEOUT_S) is None:
            self.result.hung_turns += 1
        playback.wait(TURN_TIMEOUT_S)

    def barge_in(self) -> None:
        turn = self.orch.ask_text(self._question())
        if self.mic is None:   # no microphone: the spoken question supersedes through ask_audio
            follow_up = self._interrupt_later(turn, lambda: self.orch.ask_audio(self._spoken().audio16k))
            return self._wait(follow_up) if follow_up is not None else self.audio()
        if not self._speaking(turn):
            self._wait(turn)
            return self.spoken()
        recording = self._record_start()
        time.sleep(self.rng.uniform(*INTERRUPT_AFTER_S))
        playback = self.mic.play_into_mic(self._spoken().wav)
        self._wait(turn)
        if self.tracker.turns[turn].interrupt_reason != "barge-in":
            self.result.barge_ins_missed += 1
        else:
            self.result.interrupts += 1
        follow_up = self.tracker.wait_new_turn_ended(turn, TURN_TIMEOUT_S)
        if recording:
            self._record_check(turn, follow_up.turn_id if follow_up else None)
        if follow_up is None:
            self.result.hung_turns += 1
        playback.wait(TURN_TIMEOUT_S)

    def _change_style(self) -> None:
        self.orch.set_style(warmth=round(self.rng.random(), 2), humour=round(self.rng.random(), 2),
                            energy=round(self.rng.uniform(0.5, 1.0), 2),
                            verbosity=round(self.rng.uniform(*SOAK_VERBOSITY), 2))
        self.result.style_changes += 1

    def _plan(self):
        while True:
            block = [action for action, n in self.block for _ in range(n)]
            self.rng.shuffle(block)
            yield from block

    # --- the run ------------------------------------------------------------------------------
    def run(self, turns: int, progress: Callable[[SoakResult], None] | None = None) -> SoakResult:
        res = self.result
        self.orch.set_style(verbosity=SOAK_VERBOSITY[0], energy=1.0)
        for _ in range(WARMUP_TURNS):
            self.text()
        base = self.tracker.ended_count()
        res.threads_start, res.os_threads_start = threading.active_count(), psutil.Process().num_threads()
        baseline_turn = min(TRACE_BASELINE_TURN, max(1, turns // 3))
        if self.memory is not None:
            self.memory.start()
        started = time.monotonic()
        plan = self._plan()
        while self.tracker.ended_count() - base < turns:
            if self.rng.random() < STYLE_CHANGE_P:
                self._change_style()
            action = next(plan)
            res.actions[action] = res.actions.get(action, 0) + 1
            t_action = time.monotonic()
            try:
                getattr(self, action)()
            except Exception as err:  # the driver's own failure is an error of the run, not a crash
                log.exception("soak action %s failed", action)
                res.errors += 1
                res.error_samples.append(f"{action}: {err}")
            res.action_seconds[action] = round(res.action_seconds.get(action, 0.0) + time.monotonic() - t_action, 1)
            res.turns = self.tracker.ended_count() - base
            overhead = self.memory.overhead_mb() if self.memory is not None else 0.0
            res.rss_mb.append(round(rss_mb() - overhead, 1))   # tracemalloc's own tables are not the app's
            res.rss_turns.append(res.turns)
            res.rss_actions.append(action)
            if (malloc := malloc_mb()) is not None:
                res.malloc_in_use_mb.append(round(malloc[0], 1))
                res.malloc_free_held_mb.append(round(malloc[1], 1))
            if self.memory is not None and not self.memory.marked and res.turns >= baseline_turn:
                self.memory.mark()
                res.trace_baseline_turn = res.turns
            if progress is not None:
                progress(res)
        time.sleep(0.5)   # let the last events arrive
        res.threads_end, res.os_threads_end = threading.active_count(), psutil.Process().num_threads()
        res.seconds = round(time.monotonic() - started, 1)
        if self.memory is not None:
            res.tracemalloc_overhead_mb = round(self.memory.overhead_mb(), 1)
            res.growing_sites = self.memory.top_growing(GROWING_SITES)
            self.memory.stop()
        self._collect(base)
        self.tracker.stop()
        return res

    def _collect(self, base: int) -> None:
        res = self.result
        counted = [self.tracker.turns[t] for t in self.tracker.ended_order[base:]]
        res.turns = len(counted)
        for turn in counted:
            res.ended[turn.ended] = res.ended.get(turn.ended, 0) + 1
            res.errors += len(turn.errors)
            res.error_samples += [f"turn {turn.turn_id}: {e}" for e in turn.errors][:3]
            res.stale_events += turn.stale_chunks
            if turn.ended == "done":
                res.latencies.append(turn.first_audio_ms)
                res.latency_sources.append(turn.source)
        res.errors += res.hung_turns
        del res.error_samples[10:]


def summary(res: SoakResult, mix: str) -> dict:
    """The issue's fields (and a few more) as one JSON-able object."""
    quarter = max(1, len(res.latencies) // 4)
    first, last = res.latencies[:quarter], res.latencies[-quarter:]
    half = len(res.rss_mb) // 2
    slope_tail = tail_slope(res.rss_turns, res.rss_mb)
    slope_all = slope_per_100(res.rss_turns, res.rss_mb)
    slope_half = slope_per_100(res.rss_turns[half:], res.rss_mb[half:])

    def pct(values, q):
        p = percentile([v for v in values if v is not None], q)
        return round(p, 1) if p is not None else None

    out = {
        "turns": res.turns, "errors": res.errors, "hung_turns": res.hung_turns,
        "threads_start": res.threads_start, "threads_end": res.threads_end,
        "os_threads_start": res.os_threads_start, "os_threads_end": res.os_threads_end,
        "rss_mb_start": res.rss_mb[0] if res.rss_mb else None, "rss_mb_end": res.rss_mb[-1] if res.rss_mb else None,
        "rss_slope_mb_per_100_turns": round(slope_tail, 2) if slope_tail is not None else None,
        "rss_slope_turns": slope_window(res.turns),
        "rss_slope_mb_per_100_turns_all": round(slope_all, 2) if slope_all is not None else None,
        "rss_slope_mb_per_100_turns_second_half": round(slope_half, 2) if slope_half is not None else None,
        "tracemalloc_overhead_mb": res.tracemalloc_overhead_mb,
        "top_growing_sites_since_turn": res.trace_baseline_turn,
        "top_growing_sites": [site.as_dict() for site in res.growing_sites],
        "rss_mb_trace": res.rss_mb[::max(1, len(res.rss_mb) // RSS_TRACE_POINTS)],
        "stale_audio_after_interrupt": res.stale_events + res.stale_recorded,
        "stale_audio_events": res.stale_events, "stale_audio_recorded": res.stale_recorded,
        "interrupts": res.interrupts, "interrupts_checked_on_recording": res.recordings_checked,
        "barge_ins_missed": res.barge_ins_missed,
        "latency_p50_ms_first_quarter": pct(first, 50), "latency_p50_ms_last_quarter": pct(last, 50),
        "latency_p95_ms_first_quarter": pct(first, 95), "latency_p95_ms_last_quarter": pct(last, 95),
        "latency_p50_ms_all": pct(res.latencies, 50), "latency_p95_ms_all": pct(res.latencies, 95),
        "turn_endings": res.ended, "actions": res.actions, "action_seconds": res.action_seconds,
        "style_changes": res.style_changes,
        "mix": mix, "seconds": res.seconds, "error_samples": res.error_samples,
    }
    # Typed (~0.5 s) and spoken (~1.3 s, endpointing included) turns make a two-humped distribution
    # whose overall median moves with small changes in the mix: per source compares like with like.
    by_source = {}
    for source in sorted(set(res.latency_sources)):
        picked = [(i, v) for i, (v, s) in enumerate(zip(res.latencies, res.latency_sources)) if s == source]
        by_source[source] = {"first_quarter": pct([v for i, v in picked if i < quarter], 50),
                             "last_quarter": pct([v for i, v in picked if i >= len(res.latencies) - quarter], 50)}
    out["latency_p50_ms_by_source"] = by_source
    out.update(memory_split(res))
    p50_first, p50_last = out["latency_p50_ms_first_quarter"], out["latency_p50_ms_last_quarter"]
    out["latency_drift_p50"] = round(p50_last / p50_first - 1, 3) if p50_first and p50_last else None
    return out


def memory_split(res: SoakResult) -> dict:
    """Where the tail's RSS growth sits: glibc's in-use and free-but-held slopes over the same
    window, and the mean RSS change after each kind of action there (which action grows it)."""
    out: dict = {}
    if res.malloc_in_use_mb:
        for key, values in (("malloc_in_use", res.malloc_in_use_mb), ("malloc_free_held", res.malloc_free_held_mb)):
            slope = tail_slope(res.rss_turns, values)
            out[f"{key}_slope_mb_per_100_turns"] = round(slope, 2) if slope is not None else None
    first = (res.rss_turns[-1] - slope_window(res.rss_turns[-1])) if res.rss_turns else 0
    deltas: dict[str, list[float]] = {}
    for i in range(1, len(res.rss_mb)):
        if res.rss_turns[i - 1] >= first:
            deltas.setdefault(res.rss_actions[i], []).append(res.rss_mb[i] - res.rss_mb[i - 1])
    out["rss_mb_per_action_in_slope_window"] = {a: round(float(np.mean(d)), 2) for a, d in sorted(deltas.items())}
    return out
