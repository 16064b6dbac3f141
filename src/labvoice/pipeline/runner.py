"""The one turn runner: a question (typed text, or spoken audio) -> transcript -> grounded answer ->
speakable pieces -> a sink -> a `TurnOutcome`. The live pipeline's thinker, `ask --text/--batch/
--wav`, `chat`, the evaluation runner and the benchmarks all answer through `TurnRunner.run`; they
differ only in the sink the pieces go to:

- `TextSink`: the pieces are the output (`ask --text`, `chat`, the text evaluation); nothing plays.
- `AudioFileSink`: each piece is synthesized at once and kept (`ask --wav`, the voice evaluation).
- `pipeline.loops.PlaybackSink`: each piece goes to the Voice thread and the speaker; the sink
  waits until it has played, or the turn is cancelled (the live assistant).

`TurnOutcome.latency_ms` has one shape everywhere: milliseconds from the turn's start (the end of
speech, or the moment the text was submitted) to each stage that happened, among `endpointing`,
`stt`, `retrieval`, `first_token`, `first_chunk`, `llm_done`, `tts_first_audio`, `first_audio`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from labvoice.answer.grounded import AnswerResult, Conversation
from labvoice.cancel import Cancelled, CancelToken
from labvoice.errors import code_of
from labvoice.events import AnswerDelta, AnswerDone, ErrorEvent, Event, Latency, Transcript
from labvoice.pipeline.control import Turn
from labvoice.pipeline.turns import TurnJob, TurnRecord
from labvoice.style import Style


@dataclass(frozen=True)
class Playback:
    """What a sink reports when the turn's pieces are out: the indices played to the end (None:
    every piece counts as delivered) and audio stamps (monotonic: tts_first_audio, first_audio)."""

    played: frozenset[int] | None = None
    stamps: dict[str, float] = field(default_factory=dict)


class PieceSink(Protocol):
    """Where one turn's speakable pieces go. Made per turn; used by the runner's thread only."""

    def piece(self, index: int, text: str) -> None: ...

    def wait_voiced(self) -> None:
        """Return once the first piece has audio (or cannot have any): the answerer asks the LLM
        for remarks only then, so its prefill does not delay the first audio on a small CPU."""

    def finish(self) -> Playback:
        """Every piece was handed over: wait until they have played (or the turn was cancelled)."""


class TextSink:
    """Pieces are text output; `on_piece` sees each one as it comes (chat prints it)."""

    def __init__(self, on_piece: Callable[[str], None] | None = None) -> None:
        self.on_piece = on_piece

    def piece(self, index: int, text: str) -> None:
        if self.on_piece is not None:
            self.on_piece(text)

    def wait_voiced(self) -> None:
        pass

    def finish(self) -> Playback:
        return Playback()


class AudioFileSink:
    """Synthesizes each piece as it comes, in the runner's thread, and keeps the audio."""

    def __init__(self, synthesizer, style: Style, cancel: CancelToken) -> None:
        self.synthesizer = synthesizer
        self.style = style
        self.cancel = cancel
        self.chunks: list[np.ndarray] = []
        self.stamps: dict[str, float] = {}

    def piece(self, index: int, text: str) -> None:
        for chunk in self.synthesizer.synthesize(text, self.style, self.cancel):
            if not self.stamps:
                self.stamps["tts_first_audio"] = self.stamps["first_audio"] = time.monotonic()
            self.chunks.append(np.asarray(chunk, dtype=np.float32))

    def wait_voiced(self) -> None:
        pass

    def finish(self) -> Playback:
        return Playback(None, dict(self.stamps))

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.float32)

    @property
    def seconds(self) -> float:
        return round(len(self.audio) / self.synthesizer.sample_rate, 2)


@dataclass(frozen=True)
class TurnOutcome:
    turn_id: int
    source: str                        # text | voice
    transcript: str
    answer: str                        # interrupted: only the pieces that were played
    reason: str                        # done | interrupted | empty | error (the TurnEnded reason)
    used_run_ids: tuple[str, ...] = ()
    facts: tuple[dict, ...] = ()
    latency_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    fallback: bool = False
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    result: AnswerResult | None = field(default=None, compare=False, repr=False)

    def record(self) -> TurnRecord:
        """What the conversation log keeps."""
        return TurnRecord(self.turn_id, self.source, self.transcript, self.answer, list(self.used_run_ids),
                          self.interrupted, self.fallback, dict(self.latency_ms), list(self.errors),
                          list(self.warnings))


def _ms(stamps: dict[str, float], t_start: float) -> dict[str, float]:
    ordered = sorted(stamps.items(), key=lambda item: item[1])
    return {name: round((t - t_start) * 1000, 1) for name, t in ordered}


class TurnRunner:
    """Answers one turn at a time. `transcribe(audio, cancel) -> str` is needed for spoken
    questions only; `publish` receives the turn's events (Transcript, AnswerDelta, AnswerDone,
    Latency, ErrorEvent); TurnEnded is the caller's (see pipeline.control)."""

    def __init__(self, answerer, transcribe: Callable[[np.ndarray, CancelToken], str] | None = None,
                 publish: Callable[[Event], None] = lambda event: None) -> None:
        self.answerer = answerer
        self.transcribe = transcribe
        self.publish = publish

    def run(self, job: TurnJob, sink: PieceSink, style: Style, conversation: Conversation) -> TurnOutcome:
        turn, cancel = job.turn_id, job.cancel
        stamps: dict[str, float] = {}
        if job.endpoint_ms:
            stamps["endpointing"] = job.t_start + job.endpoint_ms / 1000
        errors: list[str] = []
        warnings = ["speech was longer than vad.max_utterance_s and was cut"] if job.cut_at_max else []
        question = job.text or ""
        if job.audio is not None:
            question = self._transcribe(job, errors)
            stamps["stt"] = time.monotonic()

        def ended(reason: str) -> TurnOutcome:
            return TurnOutcome(turn, job.source, question, "", reason, latency_ms=_ms(stamps, job.t_start),
                               interrupted=reason == "interrupted", warnings=tuple(warnings), errors=tuple(errors))

        if cancel.cancelled:
            return ended("interrupted")
        if not question.strip():
            return ended("error" if errors else "empty")
        self.publish(Transcript(turn, question, True, job.source))

        stream = self.answerer.answer(question, style, cancel, conversation, t_start=job.t_start,
                                      until_voiced=sink.wait_voiced)
        pieces: list[str] = []
        try:
            for piece in stream:
                if cancel.cancelled:
                    break
                sink.piece(len(pieces), piece)
                pieces.append(piece)
                self.publish(AnswerDelta(turn, " ".join(pieces)))
        except Cancelled:
            pass
        except Exception as err:  # the pieces so far still play; the turn ends normally
            self.publish(ErrorEvent(turn, "llm", f"answering failed: {err}", code=code_of(err)))
            errors.append(f"answer: {err}")
        playback = sink.finish()
        result = stream.result
        for message in result.errors:
            self.publish(ErrorEvent(turn, "llm", message))
        stamps.update({k: v for k, v in result.stamps.items() if k != "start"})
        stamps.update(playback.stamps)
        interrupted = cancel.cancelled or result.interrupted
        played = range(len(pieces)) if playback.played is None else sorted(playback.played)
        spoken = " ".join(pieces[i] for i in played if i < len(pieces)) if interrupted else " ".join(pieces)
        conversation.remember(question, spoken, result.retrieval, interrupted)
        latency = _ms(stamps, job.t_start)
        rows = tuple(row.as_dict() for row in result.retrieval.factset.rows) if result.retrieval is not None else ()
        self.publish(AnswerDone(turn, spoken, tuple(result.used_run_ids), tuple(result.facts), interrupted,
                                result.fallback, display=result.display, query=result.query, rows=rows,
                                sources=tuple(result.sources)))
        self.publish(Latency(turn, latency))
        return TurnOutcome(turn, job.source, question, spoken, "interrupted" if interrupted else "done",
                           tuple(result.used_run_ids), tuple(result.facts), latency, interrupted, result.fallback,
                           tuple(warnings + result.warnings), tuple(errors + result.errors), result)

    def _transcribe(self, job: TurnJob, errors: list[str]) -> str:
        if job.transcript is not None:   # made while the person paused, for exactly this audio (listening/endpointer.py)
            return job.transcript
        if self.transcribe is None:
            raise ValueError("this runner has no speech recognizer; it answers typed questions only")
        try:
            return self.transcribe(job.audio, job.cancel)
        except Cancelled:
            return ""
        except Exception as err:  # noqa: BLE001 - reported; the turn ends as an error, the next one works
            self.publish(ErrorEvent(job.turn_id, "stt", f"speech recognition failed: {err}", code=code_of(err)))
            errors.append(f"stt: {err}")
            return ""


def one_off(text: str | None = None, audio: np.ndarray | None = None, t_start: float | None = None,
            endpoint_ms: float = 0.0, cut_at_max: bool = False, cancel: CancelToken | None = None) -> TurnJob:
    """A job outside the live assistant (CLI, evaluation, benchmarks): its own turn and token."""
    turn = Turn(0, "voice" if audio is not None else "text", cancel or CancelToken())
    return TurnJob(turn, t_start if t_start is not None else time.monotonic(), audio=audio, text=text,
                   endpoint_ms=endpoint_ms, cut_at_max=cut_at_max)
