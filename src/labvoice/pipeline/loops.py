"""The live assistant's worker loops. Each is built with exactly the queues, events and callbacks it
needs and touches nothing else:

    Listener: mic frames -> VAD endpointing -> `submit(utterance)` (a spoken turn); barge-in
    Thinker:  jobs -> the turn runner (STT, answer) -> pieces to the Voice through a `PlaybackSink`
    Voice:    pieces -> TTS, chunk by chunk, checking the turn's token -> Speaker
    Speaker callbacks and the Voice report back to the Thinker through the `notes` queue.

Turns, their tokens and the status belong to the `TurnController` (pipeline/control.py).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from labvoice.answer.grounded import Conversation
from labvoice.cancel import Cancelled
from labvoice.errors import code_of
from labvoice.events import ChunkPlayed, ErrorEvent, Event, MicLevel, SpeechStarted, UtteranceEnded
from labvoice.pipeline.control import Turn, TurnController
from labvoice.pipeline.hold import AnswerHold
from labvoice.pipeline.logs import ConversationLog
from labvoice.pipeline.memory import release_free_memory
from labvoice.pipeline.runner import Playback, PieceSink, TurnRunner
from labvoice.pipeline.turns import PlaybackNote, SpeechItem, TurnJob
from labvoice.style import Style

log = logging.getLogger(__name__)

POLL_S = 0.05
# The LLM's remarks wait for the first piece's audio (so its prefill does not slow the first audio
# on a small CPU), but never longer than this.
VOICED_WAIT_S = 5.0
# A live turn whose audio stops being reported without a device error is closed after this long.
PLAYBACK_SILENCE_TIMEOUT_S = 30.0

Publish = Callable[[Event], None]


class PlaybackSink:
    """One live turn's pieces go to the Voice thread; `finish()` waits for the speaker to play them.
    Every wait ends as soon as the turn is cancelled (interrupted or superseded), the assistant
    stops, or the output device has failed."""

    def __init__(self, turn: Turn, items: "queue.Queue", notes: "queue.Queue[PlaybackNote]", publish: Publish,
                 stop: threading.Event, output_failed: threading.Event) -> None:
        self.turn = turn
        self.items = items
        self.notes = notes
        self.publish = publish
        self.stop = stop
        self.output_failed = output_failed
        self.first_voiced = threading.Event()

    def _over(self) -> bool:
        return self.turn.cancelled or self.stop.is_set() or self.output_failed.is_set()

    def piece(self, index: int, text: str) -> None:
        self.items.put(SpeechItem(self.turn, index, text, self.first_voiced if index == 0 else None))

    def wait_voiced(self) -> None:
        deadline = time.monotonic() + VOICED_WAIT_S
        while not self.first_voiced.wait(POLL_S) and not self._over() and time.monotonic() < deadline:
            pass

    def finish(self) -> Playback:
        self.items.put(SpeechItem(self.turn, None))   # the end marker: the Voice always passes it on
        queued: dict[int, int] = {}                   # piece index -> audio chunks sent to the speaker
        played_chunks: dict[int, int] = {}
        last_played: dict[int, float] = {}            # piece index -> when its last chunk was heard
        stamps: dict[str, float] = {}
        synth_done = False
        last_news = time.monotonic()
        while not self._over():
            if synth_done and all(played_chunks.get(i, 0) >= n for i, n in queued.items()):
                break
            try:
                note = self.notes.get(timeout=POLL_S)
            except queue.Empty:
                if time.monotonic() - last_news > PLAYBACK_SILENCE_TIMEOUT_S:
                    self.publish(ErrorEvent(self.turn.id, "audio", "playback stopped reporting; "
                                            "check the output device"))
                    break
                continue
            if note.turn_id != self.turn.id:
                continue
            last_news = time.monotonic()
            if note.kind in ("first_audio", "tts_first_audio"):
                stamps.setdefault(note.kind, note.t)
            elif note.kind == "piece_queued":
                queued[note.index] = int(note.detail)
                if queued[note.index] and played_chunks.get(note.index, 0) >= queued[note.index]:
                    self.publish(ChunkPlayed(self.turn.id, note.index, "", t=last_played.get(note.index, note.t)))
            elif note.kind == "chunk_played":
                played_chunks[note.index] = played_chunks.get(note.index, 0) + 1
                last_played[note.index] = note.t
                if played_chunks[note.index] == queued.get(note.index):
                    self.publish(ChunkPlayed(self.turn.id, note.index, "", t=note.t))   # when it was heard
            elif note.kind == "synth_done":
                synth_done = True
        played = frozenset(i for i, n in queued.items() if n and played_chunks.get(i, 0) >= n)
        return Playback(played, stamps)


class ThinkerLoop:
    """Runs the jobs one at a time; owns the conversation (history keeps only what was played)."""

    def __init__(self, jobs: "queue.Queue[TurnJob | None]", runner: TurnRunner,
                 new_sink: Callable[[Turn], PieceSink], controller: TurnController, publish: Publish,
                 stop: threading.Event, conversation_log: ConversationLog, style: Callable[[], Style]) -> None:
        self.jobs = jobs
        self.runner = runner
        self.new_sink = new_sink
        self.controller = controller
        self.publish = publish
        self.stop = stop
        self.log = conversation_log
        self.style = style
        self.conversation = Conversation()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                job = self.jobs.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if job is None:
                break
            if job.turn.cancelled:   # cut off before it began
                self.controller.end(job.turn, "interrupted")
                continue
            try:
                outcome = self.runner.run(job, self.new_sink(job.turn), self.style(), self.conversation)
            except Exception as err:  # a turn must never take the assistant down
                log.exception("turn %d failed", job.turn_id)
                self.publish(ErrorEvent(job.turn_id, "pipeline", f"this turn failed: {err}", code=code_of(err)))
                self.controller.end(job.turn, "error")
                continue
            if outcome.transcript:
                self.log.write_turn(outcome.record())
            self.controller.end(job.turn, outcome.reason)
            release_free_memory()   # between turns: the turn's freed buffers go back (pipeline/memory.py)


class VoiceLoop:
    """TTS per piece; each chunk goes to the speaker only while its turn is current."""

    def __init__(self, items: "queue.Queue[SpeechItem | None]", notes: "queue.Queue[PlaybackNote]",
                 controller: TurnController, synthesizer, speaker, publish: Publish,
                 style: Callable[[], Style]) -> None:
        self.items = items
        self.notes = notes
        self.controller = controller
        self.synthesizer = synthesizer
        self.speaker = speaker
        self.publish = publish
        self.style = style

    def _note(self, kind: str, turn_id: int, index: int = -1, detail: str = "") -> None:
        self.notes.put(PlaybackNote(kind, turn_id, time.monotonic(), index, detail))

    def run(self) -> None:
        while True:
            item = self.items.get()
            if item is None:
                break
            if item.index is None:
                self._note("synth_done", item.turn.id)
            elif not item.turn.cancelled:
                self._note("piece_queued", item.turn.id, item.index, str(self._speak(item)))

    def _speak(self, item: SpeechItem) -> int:
        """Synthesize and queue one piece; returns how many chunks went to the speaker."""
        chunks = 0
        try:
            for chunk in self._synthesize(item):
                if item.turn.cancelled:
                    break
                if chunks == 0:
                    if item.index == 0:
                        self._note("tts_first_audio", item.turn.id)
                    if not self.controller.speaking(item.turn):
                        break
                if self.speaker is not None:
                    if not self.speaker.play(item.turn.id, item.index, chunk, self.synthesizer.sample_rate):
                        break  # the turn was cut between our check and the queue
                else:  # no output device (files, tests): "played" as soon as it exists
                    if item.index == 0 and chunks == 0:
                        self._note("first_audio", item.turn.id)
                    self._note("chunk_played", item.turn.id, item.index)
                chunks += 1
        except Cancelled:
            pass
        except Exception as err:  # the text still shows; the next sentence is spoken
            log.warning("TTS failed on piece %d of turn %d: %s", item.index, item.turn.id, err)
            self.publish(ErrorEvent(item.turn.id, "tts", f"could not speak a sentence: {err}", code=code_of(err)))
        return chunks

    def _synthesize(self, item: SpeechItem):
        """The piece's audio chunks; `item.voiced` is set at the first one, or when there is none."""
        try:
            for chunk in self.synthesizer.synthesize(item.text, self.style(), item.turn.cancel):
                if item.voiced is not None:
                    item.voiced.set()
                yield chunk
        finally:
            if item.voiced is not None:
                item.voiced.set()


class Listener:
    """Mic frames -> end of speech -> `submit(utterance, endpoint_ms)`. While the assistant speaks,
    confirmed speech of `barge_in_min_speech_ms` interrupts it (unless barge_in is off).

    Before that is confirmed, `barge_in_hold_ms` of it (one 32 ms frame) pauses the answer
    (pipeline/hold.py): the person is not talked over while the listener makes sure, and a blip
    lets the answer go on where it paused."""

    def __init__(self, frames: "queue.Queue", endpointer, config, controller: TurnController, publish: Publish,
                 submit: Callable[[object, float], None], stop: threading.Event, echo_cancelled: bool = False,
                 hold_output: Callable[[float], None] | None = None) -> None:
        from labvoice.audio.echo import effective_barge_in

        self.frames = frames
        self.detector = endpointer
        self.controller = controller
        self.publish = publish
        self.submit = submit
        self.stop = stop
        self.barge_in = effective_barge_in(config.pipeline.barge_in, echo_cancelled)   # auto -> headphones|speaker
        self.barge_min_s = config.pipeline.barge_in_min_speech_ms / 1000
        # Only where our own voice is gone from the mic (canceller, headphones): in speaker mode the
        # echo itself would pause every answer.
        self.hold_s = config.pipeline.barge_in_hold_ms / 1000 if self.barge_in == "headphones" else 0.0
        self.hold_output = hold_output if self.hold_s > 0 else None
        self.thresholds = (config.vad.threshold, config.pipeline.speaker_mode_threshold)
        self.level_every_s = 1.0 / config.audio.level_events_per_s

    def run(self) -> None:
        from labvoice.audio.echo import NearEndRun

        detector, controller = self.detector, self.controller
        near_end = NearEndRun()
        try:
            self._listen(detector, controller, near_end)
        finally:
            detector.close()   # its speculative-transcription worker

    def _listen(self, detector, controller: TurnController, near_end) -> None:
        from labvoice.listening.endpointer import SpeechStart, Utterance

        last_level = 0.0
        speech_started_at: float | None = None
        hold = AnswerHold(self.hold_output, self.hold_s, self.publish) if self.hold_output is not None else None
        while not self.stop.is_set():
            try:
                frame = self.frames.get(timeout=POLL_S)
            except queue.Empty:
                continue
            # A lagging listener (speculative STT at a pause) must not take sound from before the answer
            # started for a barge-in: "speaking" is judged at the frame's own capture time.
            speaking = controller.is_speaking and frame.t_end >= controller.speaking_since
            if self.barge_in == "speaker":
                wanted = self.thresholds[1] if speaking else self.thresholds[0]
                if detector.threshold != wanted:
                    detector.set_threshold(wanted)
            event = detector.feed(frame.samples, frame.t_start)
            if frame.t_end - last_level >= self.level_every_s:
                last_level = frame.t_end
                self.publish(MicLevel(controller.current_id, min(1.0, frame.rms * 4), detector.last_prob))
            if isinstance(event, SpeechStart):
                speech_started_at = event.t_speech_start
                if not speaking or self.barge_in != "off":
                    self.publish(SpeechStarted(controller.current_id))
                    controller.set_hearing(True)
            # Unbroken speech that is not our own echo (audio/residual.py: what the canceller left
            # that still looks like the reference is echo residue, whatever the VAD says).
            run_from = near_end.update(frame.t_start, detector.speech_run_started is not None,
                                       frame.echo_share)
            if hold is not None:
                hold.update(frame.t_end, speaking, run_from, controller.speaking_since, controller.current_id)
            confirm_from = max(run_from, controller.speaking_since) if run_from is not None else None
            drained = hold is None or hold.drained(confirm_from, frame.t_end)
            if (speaking and speech_started_at is not None and detector.in_speech and self.barge_in != "off"
                    and confirm_from is not None and drained
                    and frame.t_end - confirm_from >= self.barge_min_s):
                controller.interrupt(reason="barge-in")
                controller.set_hearing(True)
                speech_started_at = None
            if isinstance(event, Utterance):
                speech_started_at = None
                if speaking and self.barge_in == "off":
                    controller.set_hearing(False)
                    continue  # the mic heard the assistant (or the user, ignored by choice)
                self.publish(UtteranceEnded(controller.current_id, event.duration_s, event.cut_at_max))
                self.submit(event, (frame.t_end - event.t_speech_end) * 1000)
