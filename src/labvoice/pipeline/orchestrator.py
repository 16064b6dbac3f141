"""The orchestrator: owns the pipeline's threads and queues and is the only public API the GUI,
the CLI and the tests use.

    mic -> Listener (VAD endpointing) -> Thinker (STT, retrieval, LLM, answer chunker) -> Voice (TTS)
        -> Speaker (playback queue, audio thread)

Every queued item carries its turn id. `interrupt()` cancels the turn's token (the LLM stops,
TTS stops between chunks), bumps the turn id (stale items are dropped on sight) and flushes the
playback buffer at once. The Thinker owns the conversation: one turn at a time, and the history
keeps only what was actually played.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace

from labvoice.cancel import CancelToken
from labvoice.config import Config
from labvoice.events import (Event, EventBus, Interrupted, MicLevel, SpeechStarted, Status, StatusChanged,
                             ErrorEvent, UtteranceEnded)
from labvoice.pipeline.logs import ConversationLog
from labvoice.pipeline.stages import Stages, ThinkerLoop, VoiceLoop
from labvoice.pipeline.turns import PlaybackNote, TurnJob
from labvoice.style import Style

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0
POLL_S = 0.05


class Orchestrator:
    """Thread-safe public API: start/stop, pause/resume, interrupt, ask_text, set_style, events()."""

    def __init__(self, config: Config, stages: Stages | None = None, with_audio_input: bool = True,
                 with_audio_output: bool = True) -> None:
        self.config = config
        self.bus = EventBus()
        self._stages = stages
        self._with_input = with_audio_input
        self._with_output = with_audio_output
        self._lock = threading.Lock()
        self._turn_id = 0
        self._cancel = CancelToken()
        self._style = Style.from_config(config.style)
        self._stop = threading.Event()
        self._speaking = threading.Event()   # set while a turn's audio is queued or playing
        self._paused = threading.Event()
        self._jobs: "queue.Queue[TurnJob | None]" = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._capture = None
        self._speaker = None
        self._status = Status.IDLE
        self.log = ConversationLog(config.paths.logs)

    # --- events -------------------------------------------------------------------------------
    def events(self) -> "queue.Queue[Event]":
        """A new subscriber queue receiving every event from now on."""
        return self.bus.subscribe()

    def publish(self, event: Event) -> None:
        if isinstance(event, StatusChanged):
            self._status = event.status
        self.bus.publish(event)

    def set_status(self, status: Status, detail: str = "", turn_id: int | None = None) -> None:
        self.publish(StatusChanged(self._turn_id if turn_id is None else turn_id, status, detail))

    @property
    def status(self) -> Status:
        return self._status

    @property
    def style(self) -> Style:
        return self._style

    @property
    def current_turn(self) -> int:
        return self._turn_id

    def is_stale(self, turn_id: int) -> bool:
        return turn_id != self._turn_id

    def is_speaking(self) -> bool:
        return self._speaking.is_set()

    # --- lifecycle ----------------------------------------------------------------------------
    def load(self) -> Stages:
        """Load every model (once). Publishes Loading; safe to call from any thread."""
        if self._stages is None:
            self.set_status(Status.LOADING, "loading models")
            self._stages = Stages.load(self.config, progress=lambda msg: self.set_status(Status.LOADING, msg))
        return self._stages

    def start(self) -> None:
        """Load models, open the audio devices, start the threads, and listen.
        If a device cannot be opened, everything opened so far is closed again before the error
        propagates, so start() can simply be called again."""
        if self._threads:
            return
        stages = self.load()
        self._stop.clear()
        try:
            if self._with_output:
                from labvoice.audio.playback import Speaker

                self._speaker = Speaker.from_config(self.config, on_first_audio=self._on_first_audio,
                                                    on_chunk_played=self._on_chunk_played,
                                                    on_error=self._on_device_error)
                self._speaker.start()
            if self._with_input:
                from labvoice.audio.capture import MicrophoneCapture

                self._capture = MicrophoneCapture.from_config(self.config, on_error=self._on_device_error)
                self._capture.start()
        except BaseException:
            self._close_devices()
            raise
        self._thinker = ThinkerLoop(self, stages)
        self._voice = VoiceLoop(self, stages, self._speaker)
        self._threads = [threading.Thread(target=self._thinker.run, name="thinker", daemon=True),
                         threading.Thread(target=self._voice.run, name="voice", daemon=True)]
        if self._capture is not None:
            self._threads.append(threading.Thread(target=self._listen, name="listener", daemon=True))
        for thread in self._threads:
            thread.start()
        self.set_status(Status.LISTENING if self._with_input else Status.IDLE)

    def _close_devices(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.stop()
        speaker, self._speaker = self._speaker, None
        if speaker is not None:
            speaker.stop()

    def stop(self) -> None:
        """Stop listening and speaking, end the threads. Models stay loaded for the next start()."""
        self.interrupt(reason="stopped")
        self._stop.set()
        self._jobs.put(None)
        self._voice_q_put_stop()
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_S)
        self._threads = []
        self._close_devices()
        self.set_status(Status.IDLE)

    def close(self) -> None:
        self.stop()
        if self._stages is not None:
            self._stages.close()
            self._stages = None

    def _voice_q_put_stop(self) -> None:
        voice = getattr(self, "_voice", None)
        if voice is not None:
            voice.items.put(None)

    # --- control ------------------------------------------------------------------------------
    def pause(self) -> None:
        """Mute the microphone (the current answer still plays)."""
        self._paused.set()
        if self._capture is not None:
            self._capture.muted = True
        self.set_status(Status.PAUSED)

    def resume(self) -> None:
        self._paused.clear()
        if self._capture is not None:
            self._capture.muted = False
        self.set_status(Status.SPEAKING if self._speaking.is_set() else Status.LISTENING)

    def interrupt(self, reason: str = "interrupted") -> int:
        """Stop the current answer now: cancel the turn, drop its queued items, flush playback.
        Harmless when nothing plays; returns the new current turn id."""
        with self._lock:
            old_turn = self._turn_id
            self._cancel.cancel(reason)
            self._turn_id += 1
            self._cancel = CancelToken()
            new_turn = self._turn_id
        if self._speaker is not None:
            self._speaker.set_current_turn(new_turn)
            self._speaker.flush()
        was_speaking = self._speaking.is_set()
        self._speaking.clear()
        self.publish(Interrupted(old_turn, reason))
        if was_speaking or self._status in (Status.THINKING, Status.SPEAKING, Status.HEARING):
            self.set_status(Status.PAUSED if self._paused.is_set() else
                            (Status.LISTENING if self._capture is not None else Status.IDLE))
        return new_turn

    def ask_text(self, text: str) -> int:
        """Answer a typed question (supersedes any turn in progress). Returns its turn id."""
        return self._begin_turn(time.monotonic(), text=text)

    def ask_audio(self, audio, t_speech_end: float | None = None) -> int:
        """Answer an utterance given as 16 kHz mono float32 (tests, files)."""
        return self._begin_turn(t_speech_end or time.monotonic(), audio=audio)

    def set_style(self, **sliders: float) -> Style:
        """Change style sliders; they apply from the next sentence."""
        self._style = replace(self._style, **sliders)
        return self._style

    def _begin_turn(self, t_start: float, text: str | None = None, audio=None, endpoint_ms: float = 0.0,
                    cut_at_max: bool = False) -> int:
        if self._speaking.is_set() or self._status in (Status.THINKING, Status.SPEAKING):
            self.interrupt(reason="superseded")
        with self._lock:
            self._turn_id += 1
            turn_id, cancel = self._turn_id, self._cancel
        if self._speaker is not None:
            self._speaker.set_current_turn(turn_id)
        self._jobs.put(TurnJob(turn_id, cancel, t_start, audio=audio, text=text, endpoint_ms=endpoint_ms,
                               cut_at_max=cut_at_max))
        return turn_id

    def next_job(self, timeout: float) -> TurnJob | None:
        return self._jobs.get(timeout=timeout)

    # --- listener thread ----------------------------------------------------------------------
    def _listen(self) -> None:
        from labvoice.vad import SpeechStart, Utterance

        detector = self._stages.new_endpointer()
        capture = self._capture
        level_every = 1.0 / self.config.audio.level_events_per_s
        last_level = 0.0
        speaker_mode = self.config.pipeline.barge_in == "speaker"
        barge_min_s = self.config.pipeline.barge_in_min_speech_ms / 1000
        speech_started_at: float | None = None
        while not self._stop.is_set():
            try:
                frame = capture.frames.get(timeout=POLL_S)
            except queue.Empty:
                continue
            speaking = self._speaking.is_set()
            if speaker_mode:
                wanted = self.config.pipeline.speaker_mode_threshold if speaking else self.config.vad.threshold
                if detector.threshold != wanted:
                    detector.set_threshold(wanted)
            event = detector.feed(frame.samples, frame.t_start)
            if frame.t_end - last_level >= level_every:
                last_level = frame.t_end
                self.publish(MicLevel(self._turn_id, min(1.0, frame.rms * 4), detector.last_prob))
            if isinstance(event, SpeechStart):
                speech_started_at = event.t_speech_start
                if not speaking or self.config.pipeline.barge_in != "off":
                    self.publish(SpeechStarted(self._turn_id))
                    if not speaking:
                        self.set_status(Status.HEARING)
            if (speaking and speech_started_at is not None and detector.in_speech
                    and self.config.pipeline.barge_in != "off"
                    and frame.t_end - speech_started_at >= barge_min_s):
                self.interrupt(reason="barge-in")
                speech_started_at = None
            if isinstance(event, Utterance):
                speech_started_at = None
                if speaking and self.config.pipeline.barge_in == "off":
                    continue  # the mic heard the assistant (or the user, ignored by choice)
                endpoint_ms = (frame.t_end - event.t_speech_end) * 1000
                self.publish(UtteranceEnded(self._turn_id, event.duration_s, event.cut_at_max))
                self._begin_turn(event.t_speech_end, audio=event.audio, endpoint_ms=endpoint_ms,
                                 cut_at_max=event.cut_at_max)

    # --- callbacks from the audio threads (never block) -----------------------------------------
    def _on_first_audio(self, turn_id: int, t: float) -> None:
        self._thinker.notes.put(PlaybackNote("first_audio", turn_id, t))

    def _on_chunk_played(self, turn_id: int, index: int, t: float) -> None:
        self._thinker.notes.put(PlaybackNote("chunk_played", turn_id, t, index))

    def _on_device_error(self, err: Exception) -> None:
        self.publish(ErrorEvent(self._turn_id, "audio", f"{err}; press Start to reopen the device",
                                recoverable=True))
        self.set_status(Status.ERROR, str(err))

    def restart_audio(self) -> None:
        """Reopen the audio devices after an error."""
        if self._capture is not None:
            self._capture.restart()
        if self._speaker is not None:
            self._speaker.restart()
        self.set_status(Status.LISTENING)

    def mark_speaking(self, turn_id: int) -> None:
        if not self.is_stale(turn_id) and not self._speaking.is_set():
            self._speaking.set()
            self.set_status(Status.SPEAKING, turn_id=turn_id)

    def end_speaking(self, turn_id: int) -> None:
        if not self.is_stale(turn_id):
            self._speaking.clear()
