"""The loaded stages and the two worker loops the orchestrator runs: Thinker and Voice.

Thinker: STT -> grounded answer (retrieval, LLM, chunker, guard) -> speakable pieces -> Voice,
then waits for the turn to finish playing (or be interrupted) and records what was played.
Voice: TTS per piece, checking the turn's cancel token between chunks -> Speaker.
Each loop owns its state and talks to the rest only through queues and the orchestrator's API.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from labvoice.answer.grounded import Conversation
from labvoice.app import Brain, load_brain, setup
from labvoice.backends import make_synthesizer, make_transcriber
from labvoice.events import (AnswerDelta, AnswerDone, ChunkPlayed, ErrorEvent, Latency, Status, Transcript,
                             TurnEnded)
from labvoice.pipeline.turns import PlaybackNote, SpeechItem, TurnJob, TurnRecord

if TYPE_CHECKING:
    from labvoice.pipeline.orchestrator import Orchestrator

log = logging.getLogger(__name__)

POLL_S = 0.05
# The LLM's remarks wait for the first piece's audio (so its prefill does not slow the first audio
# on a small CPU), but never longer than this.
VOICED_WAIT_S = 5.0
# A turn whose audio never reports back (device gone) is closed after this long without news.
PLAYBACK_SILENCE_TIMEOUT_S = 30.0


@dataclass
class Stages:
    config: object
    brain: Brain
    transcriber: object
    synthesizer: object
    vad: object

    @classmethod
    def load(cls, config, progress: Callable[[str], None] = lambda msg: None) -> "Stages":
        from labvoice.vad import SileroVad

        profile = setup(config)
        progress("loading the voice activity detector")
        vad = SileroVad.from_config(config)
        progress("loading speech recognition")
        transcriber = make_transcriber(config, profile)
        progress("loading the language model and knowledge index")
        brain = load_brain(config, profile)
        progress("loading the voice")
        synthesizer = make_synthesizer(config, profile)
        return cls(config, brain, transcriber, synthesizer, vad)

    def new_endpointer(self):
        from labvoice.vad import EndOfSpeechDetector

        return EndOfSpeechDetector.from_config(self.config, vad=self.vad)

    def transcribe(self, audio, cancel) -> str:
        return " ".join(seg.text.strip() for seg in
                        self.transcriber.transcribe(audio, cancel, self._stt_hints())).strip()

    def _stt_hints(self) -> tuple[str, ...]:
        if not self.config.stt.hint_db_names:
            return ()
        try:
            return self.brain.retriever.finder().vocab.spoken_names()
        except Exception as exc:  # noqa: BLE001 - a DB problem is reported by the answer, not here
            log.debug("no STT hints: %s", exc)
            return ()

    def close(self) -> None:
        self.brain.close()


def _wait(event: threading.Event, cancel, timeout_s: float = VOICED_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not event.wait(POLL_S) and not cancel.cancelled and time.monotonic() < deadline:
        pass


class ThinkerLoop:
    def __init__(self, orch: "Orchestrator", stages: Stages) -> None:
        self.orch = orch
        self.stages = stages
        self.notes: "queue.Queue[PlaybackNote]" = queue.Queue()
        self.conversation = Conversation()

    def run(self) -> None:
        while not self.orch._stop.is_set():
            try:
                job = self.orch.next_job(POLL_S)
            except queue.Empty:
                continue
            if job is None:
                break
            if self.orch.is_stale(job.turn_id) or job.cancel.cancelled:
                self.orch.publish(TurnEnded(job.turn_id, "interrupted"))  # cut off before it began
                continue
            try:
                self.run_turn(job)
            except Exception as err:  # a turn must never take the assistant down
                log.exception("turn %d failed", job.turn_id)
                self.orch.publish(ErrorEvent(job.turn_id, "pipeline", f"this turn failed: {err}"))
                self._back_to_listening(job.turn_id)
                self.orch.publish(TurnEnded(job.turn_id, "error"))

    def _back_to_listening(self, turn_id: int) -> None:
        self.orch.end_speaking(turn_id)
        if not self.orch.is_stale(turn_id):
            self.orch.set_status(Status.PAUSED if self.orch._paused.is_set() else
                                 (Status.LISTENING if self.orch._capture is not None else Status.IDLE))

    def run_turn(self, job: TurnJob) -> None:
        orch, turn = self.orch, job.turn_id
        record = TurnRecord(turn, "voice" if job.audio is not None else "text")
        stamps = {"endpointing": job.t_start + job.endpoint_ms / 1000}
        orch.set_status(Status.THINKING, turn_id=turn)
        question = job.text or ""
        if job.audio is not None:
            try:
                question = self.stages.transcribe(job.audio, job.cancel)
            except Exception as err:
                orch.publish(ErrorEvent(turn, "stt", f"speech recognition failed: {err}"))
                record.errors.append(f"stt: {err}")
                question = ""
            stamps["stt"] = time.monotonic()
            if not question:
                self._back_to_listening(turn)
                orch.publish(TurnEnded(turn, "empty" if not record.errors else "error"))
                return
        if not question.strip():  # an empty typed question: nothing to answer
            self._back_to_listening(turn)
            orch.publish(TurnEnded(turn, "empty"))
            return
        record.transcript = question
        orch.publish(Transcript(turn, question, True, record.source))
        if job.cut_at_max:
            record.warnings.append("speech was longer than vad.max_utterance_s and was cut")

        first_voiced = threading.Event()
        stream = self.stages.brain.answerer.answer(question, orch.style, job.cancel, self.conversation,
                                                   t_start=job.t_start,
                                                   until_voiced=lambda: _wait(first_voiced, job.cancel))
        pieces: list[str] = []
        voice = orch._voice
        try:
            for piece in stream:
                if job.cancel.cancelled:
                    break
                voice.items.put(SpeechItem(turn, job.cancel, len(pieces), piece, first_voiced if not pieces else None))
                pieces.append(piece)
                orch.publish(AnswerDelta(turn, " ".join(pieces)))
        except Exception as err:
            orch.publish(ErrorEvent(turn, "llm", f"answering failed: {err}"))
            record.errors.append(f"answer: {err}")
        voice.items.put(SpeechItem(turn, job.cancel, None))
        result = stream.result
        for message in result.errors:
            orch.publish(ErrorEvent(turn, "llm", message))

        played, audio_stamps = self._await_playback(job, len(pieces))
        stamps.update({k: v for k, v in result.stamps.items() if k != "start"})
        stamps.update(audio_stamps)
        interrupted = job.cancel.cancelled
        # Interrupted: only what was played. Otherwise every piece (a sentence TTS failed on still shows).
        spoken = " ".join(pieces[i] for i in sorted(played) if i < len(pieces)) if interrupted else " ".join(pieces)
        self.conversation.remember(question, spoken, result.retrieval, interrupted)
        latency = {name: round((t - job.t_start) * 1000, 1) for name, t in stamps.items()}
        record.answer, record.interrupted, record.fallback = spoken, interrupted, result.fallback
        record.used_run_ids = list(result.used_run_ids)
        record.latency_ms = latency
        record.errors += result.errors
        record.warnings += result.warnings
        orch.publish(AnswerDone(turn, spoken, tuple(result.used_run_ids), tuple(result.facts), interrupted,
                                result.fallback))
        orch.publish(Latency(turn, latency))
        orch.log.write_turn(record)
        self._back_to_listening(turn)
        orch.publish(TurnEnded(turn, "interrupted" if interrupted else "done"))

    def _await_playback(self, job: TurnJob, n_pieces: int) -> tuple[set[int], dict[str, float]]:
        """Wait until every synthesized piece of the turn has played, or the turn was cancelled.
        Returns the indices of the pieces played to the end and the audio stamps (monotonic)."""
        queued: dict[int, int] = {}      # piece index -> number of audio chunks sent to the speaker
        played_chunks: dict[int, int] = {}
        stamps: dict[str, float] = {}
        synth_done = False
        last_news = time.monotonic()
        while not self.orch._stop.is_set() and not job.cancel.cancelled:
            if synth_done and all(played_chunks.get(i, 0) >= n for i, n in queued.items()):
                break
            try:
                note = self.notes.get(timeout=POLL_S)
            except queue.Empty:
                if time.monotonic() - last_news > PLAYBACK_SILENCE_TIMEOUT_S:
                    self.orch.publish(ErrorEvent(job.turn_id, "audio", "playback stopped reporting; "
                                                 "check the output device"))
                    break
                continue
            if note.turn_id != job.turn_id:
                continue
            last_news = time.monotonic()
            if note.kind in ("first_audio", "tts_first_audio"):
                stamps.setdefault(note.kind, note.t)
            elif note.kind == "piece_queued":
                queued[note.index] = int(note.detail)
                if queued[note.index] and played_chunks.get(note.index, 0) >= queued[note.index]:
                    self.orch.publish(ChunkPlayed(job.turn_id, note.index, ""))
            elif note.kind == "chunk_played":
                played_chunks[note.index] = played_chunks.get(note.index, 0) + 1
                if played_chunks[note.index] == queued.get(note.index):
                    self.orch.publish(ChunkPlayed(job.turn_id, note.index, ""))
            elif note.kind == "synth_done":
                synth_done = True
        played = {i for i, n in queued.items() if n and played_chunks.get(i, 0) >= n}
        return played, stamps


class VoiceLoop:
    def __init__(self, orch: "Orchestrator", stages: Stages, speaker) -> None:
        self.orch = orch
        self.stages = stages
        self.speaker = speaker
        self.items: "queue.Queue[SpeechItem | None]" = queue.Queue()

    def _note(self, kind: str, turn_id: int, index: int = -1, detail: str = "") -> None:
        self.orch._thinker.notes.put(PlaybackNote(kind, turn_id, time.monotonic(), index, detail))

    def run(self) -> None:
        synthesizer = self.stages.synthesizer
        while True:
            item = self.items.get()
            if item is None:
                break
            if self.orch.is_stale(item.turn_id) or item.cancel.cancelled:
                continue
            if item.index is None:
                self._note("synth_done", item.turn_id)
                continue
            chunks = 0
            try:
                for chunk in self._synthesize(synthesizer, item):
                    if item.cancel.cancelled or self.orch.is_stale(item.turn_id):
                        break
                    if chunks == 0:
                        if item.index == 0:
                            self._note("tts_first_audio", item.turn_id)
                        self.orch.mark_speaking(item.turn_id)
                    if self.speaker is not None:
                        if not self.speaker.play(item.turn_id, item.index, chunk, synthesizer.sample_rate):
                            break  # the turn went stale between our check and the queue
                    else:  # no output device (files, tests): "played" as soon as it exists
                        if item.index == 0 and chunks == 0:
                            self._note("first_audio", item.turn_id)
                        self._note("chunk_played", item.turn_id, item.index)
                    chunks += 1
            except Exception as err:  # the text still shows; the next sentence is spoken
                log.warning("TTS failed on piece %d of turn %d: %s", item.index, item.turn_id, err)
                self.orch.publish(ErrorEvent(item.turn_id, "tts", f"could not speak a sentence: {err}"))
            self._note("piece_queued", item.turn_id, item.index, str(chunks))

    def _synthesize(self, synthesizer, item: SpeechItem):
        """The piece's audio chunks; `item.voiced` is set at the first one, or when there is none."""
        try:
            for chunk in synthesizer.synthesize(item.text, self.orch.style, item.cancel):
                if item.voiced is not None:
                    item.voiced.set()
                yield chunk
        finally:
            if item.voiced is not None:
                item.voiced.set()
