"""The orchestrator: the only public API the GUI, the CLI and the tests use for the live assistant.
It builds the worker loops (pipeline/loops.py) with their queues, opens the audio devices, and
leaves turns and status to the `TurnController` (pipeline/control.py).

    mic -> Listener (VAD endpointing) -> Thinker (turn runner: STT, retrieval, LLM, answer chunker)
        -> Voice (TTS) -> Speaker (playback queue, audio thread)

Every queued item carries its turn. A new question, `interrupt()` and barge-in cancel the running
turn's token whatever the status (the LLM stops, TTS stops between chunks, waits end), playback is
told the new turn id (older audio is refused) and flushed at once. Each `start()` builds fresh
queues and threads, so `stop()` then `start()` works every time; turns still open at `stop()` end
as interrupted. A question asked while stopped ends at once (interrupted).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field, replace

from labvoice.config import Config
from labvoice.errors import code_of
from labvoice.events import ErrorEvent, Event, EventBus, Status
from labvoice.pipeline.control import Snapshot, TurnController
from labvoice.pipeline.logs import ConversationLog
from labvoice.pipeline.loops import Listener, PlaybackSink, ThinkerLoop, VoiceLoop
from labvoice.pipeline.stages import Stages
from labvoice.pipeline.turns import PlaybackNote, TurnJob
from labvoice.style import Style

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0


@dataclass(eq=False)
class _Run:
    """What one start() builds and the matching stop() takes down."""

    jobs: "queue.Queue[TurnJob | None]" = field(default_factory=queue.Queue)
    items: queue.Queue = field(default_factory=queue.Queue)
    notes: "queue.Queue[PlaybackNote]" = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    output_failed: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    speaker: object = None
    capture: object = None
    system_echo: object = None    # audio/system_echo.SystemEchoCancel when the sound server cancels the echo

    @property
    def echo_cancelled(self) -> bool:
        """The app's own canceller runs (barge_in: auto then listens as with headphones). The sound
        server's canceller needs seconds of an answer to converge, so with it `auto` keeps the
        raised speaker-mode threshold while the assistant talks."""
        return self.capture is not None and self.capture.echo_cancelled


class Orchestrator:
    """Thread-safe public API: start/stop/close, pause/resume, interrupt, ask_text, ask_audio,
    set_style, events()."""

    def __init__(self, config: Config, stages: Stages | None = None, with_audio_input: bool = True,
                 with_audio_output: bool = True) -> None:
        self.config = config
        self.bus = EventBus()
        self.controller = TurnController(self.bus.publish, on_cut=self._cut_playback, listening=with_audio_input)
        self._stages = stages
        self._with_input = with_audio_input
        self._with_output = with_audio_output
        self._style = Style.from_config(config.style)
        self._lifecycle = threading.Lock()   # start/stop/close, one at a time
        self._submit = threading.Lock()      # a job goes into the running queue, or its turn ends
        self._run: _Run | None = None
        self.log = ConversationLog(config.paths.logs)

    # --- events and state ---------------------------------------------------------------------
    def events(self) -> "queue.Queue[Event]":
        """A new subscriber queue receiving every event from now on."""
        return self.bus.subscribe()

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    @property
    def status(self) -> Status:
        return self.controller.status

    def snapshot(self) -> Snapshot:
        """Status, speaking, paused and the current turn id, read together."""
        return self.controller.snapshot()

    @property
    def style(self) -> Style:
        return self._style

    @property
    def current_turn(self) -> int:
        return self.controller.current_id

    def is_speaking(self) -> bool:
        return self.controller.is_speaking

    @property
    def alive(self) -> bool:
        """Started, and every worker thread is running."""
        run = self._run
        return run is not None and bool(run.threads) and all(t.is_alive() for t in run.threads)

    @property
    def echo_canceller(self):
        """The running microphone's echo canceller (audio/echo.py; its `stats` give the ERLE), or None."""
        run = self._run
        capture = run.capture if run is not None else None
        return capture.echo_canceller if capture is not None else None

    # --- lifecycle ----------------------------------------------------------------------------
    def load(self) -> Stages:
        """Load every model (once). Shows Loading with progress; safe to call from any thread."""
        if self._stages is None:
            self.controller.set_loading("loading models")
            try:
                self._stages = Stages.load(self.config, progress=self.controller.set_loading)
            finally:
                self.controller.set_loading("")
        return self._stages

    def start(self) -> None:
        """Load models, open the audio devices, start the threads, and listen.
        If a device cannot be opened, everything opened so far is closed again before the error
        propagates, so start() can simply be called again."""
        with self._lifecycle:
            if self._run is not None:
                return
            stages = self.load()
            run = _Run()
            try:
                self._open_devices(run)
            except BaseException:
                self._close_devices(run)
                raise
            runner = stages.runner(self.publish)
            thinker = ThinkerLoop(run.jobs, runner,
                                  lambda turn: PlaybackSink(turn, run.items, run.notes, self.publish, run.stop,
                                                            run.output_failed),
                                  self.controller, self.publish, run.stop, self.log, lambda: self._style)
            voice = VoiceLoop(run.items, run.notes, self.controller, stages.synthesizer, run.speaker, self.publish,
                              lambda: self._style)
            run.threads = [threading.Thread(target=thinker.run, name="thinker", daemon=True),
                           threading.Thread(target=voice.run, name="voice", daemon=True)]
            if run.capture is not None:
                listener = Listener(run.capture.frames, stages.new_endpointer(), self.config, self.controller,
                                    self.publish, self._submit_utterance, run.stop, run.echo_cancelled,
                                    hold_output=run.speaker.hold if run.speaker is not None else None)
                run.threads.append(threading.Thread(target=listener.run, name="listener", daemon=True))
            for thread in run.threads:
                thread.start()
            with self._submit:
                self._run = run
            self.controller.set_device_error("")
            self.controller.set_listening(run.capture is not None)
            self.controller.set_running(True)

    def _open_devices(self, run: _Run) -> None:
        def first_audio(turn_id: int, t: float) -> None:
            run.notes.put(PlaybackNote("first_audio", turn_id, t))

        def chunk_played(turn_id: int, index: int, t: float) -> None:
            run.notes.put(PlaybackNote("chunk_played", turn_id, t, index))

        def output_error(err: Exception) -> None:
            run.output_failed.set()
            self._on_device_error(err)

        echo = None
        if self._with_input and self._with_output:
            from labvoice.audio.echo import make_echo_canceller

            echo = make_echo_canceller(self.config)   # None when off or unavailable (said once)
        if self._with_output:
            from labvoice.audio.playback import Speaker

            run.speaker = Speaker.from_config(self.config, on_first_audio=first_audio,
                                              on_chunk_played=chunk_played, on_error=output_error,
                                              reference=echo.reference if echo is not None else None)
            run.speaker.set_current_turn(self.controller.current_id)
            run.speaker.start()
        if self._with_input:
            from labvoice.audio.capture import MicrophoneCapture

            run.capture = MicrophoneCapture.from_config(self.config, on_error=self._on_device_error,
                                                        echo_canceller=echo)
            run.capture.muted = self.controller.is_paused
            run.capture.start()
        if self._with_input and self._with_output and self.config.audio.echo_canceller == "system":
            run.system_echo = _attach_system_echo()

    @staticmethod
    def _close_devices(run: _Run) -> None:
        system_echo, run.system_echo = run.system_echo, None
        if system_echo is not None:
            system_echo.detach()
        capture, run.capture = run.capture, None
        if capture is not None:
            capture.stop()
        speaker, run.speaker = run.speaker, None
        if speaker is not None:
            speaker.stop()

    def stop(self) -> None:
        """Stop listening and speaking, end the threads. Models stay loaded for the next start()."""
        with self._lifecycle:
            with self._submit:
                run, self._run = self._run, None
            cut = self.controller.interrupt(reason="stopped")
            if run is not None:
                self._silence(run, cut, flush=True)   # the devices close only after the threads end
                run.stop.set()
                run.jobs.put(None)
                run.items.put(None)
                if run.capture is not None:
                    run.capture.stop()
                for thread in run.threads:
                    thread.join(JOIN_TIMEOUT_S)
                    if thread.is_alive():
                        log.warning("%s thread did not stop within %.0f s", thread.name, JOIN_TIMEOUT_S)
                self._close_devices(run)
            self.controller.end_open_turns("interrupted")
            self.controller.set_hearing(False)
            self.controller.set_running(False)

    def close(self) -> None:
        self.stop()
        if self._stages is not None:
            self._stages.close()
            self._stages = None

    # --- control ------------------------------------------------------------------------------
    def pause(self) -> None:
        """Mute the microphone (the current answer still plays)."""
        run = self._run
        if run is not None and run.capture is not None:
            run.capture.muted = True
        self.controller.set_paused(True)

    def resume(self) -> None:
        run = self._run
        if run is not None and run.capture is not None:
            run.capture.muted = False
        self.controller.set_paused(False)

    def interrupt(self, reason: str = "interrupted") -> int:
        """Stop the current answer now: cancel the turn, drop its queued items, flush playback.
        Harmless when nothing plays; returns the new current turn id."""
        return self.controller.interrupt(reason)

    def ask_text(self, text: str) -> int:
        """Answer a typed question (supersedes any turn in progress). Returns its turn id."""
        return self._begin(time.monotonic(), text=text)

    def ask_audio(self, audio, t_speech_end: float | None = None) -> int:
        """Answer an utterance given as 16 kHz mono float32 (tests, files)."""
        return self._begin(t_speech_end or time.monotonic(), audio=audio)

    def set_style(self, **sliders: float) -> Style:
        """Change style sliders; they apply from the next sentence."""
        self._style = replace(self._style, **sliders)
        return self._style

    def _submit_utterance(self, utterance, endpoint_ms: float) -> None:
        self._begin(utterance.t_speech_end, audio=utterance.audio, endpoint_ms=endpoint_ms,
                    cut_at_max=utterance.cut_at_max,
                    transcript=utterance.transcript.text if utterance.transcript is not None else None)

    def _begin(self, t_start: float, text: str | None = None, audio=None, endpoint_ms: float = 0.0,
               cut_at_max: bool = False, transcript: str | None = None) -> int:
        with self._submit:
            turn = self.controller.begin("voice" if audio is not None else "text")
            run = self._run
            if run is not None:
                run.jobs.put(TurnJob(turn, t_start, audio=audio, text=text, endpoint_ms=endpoint_ms,
                                     cut_at_max=cut_at_max, transcript=transcript))
        if run is None:
            self.controller.end(turn, "interrupted")
        return turn.id

    # --- callbacks (controller, audio threads; never block) --------------------------------------
    def _cut_playback(self, turn_id: int, flush: bool) -> None:
        run = self._run
        if run is not None:
            self._silence(run, turn_id, flush)

    @staticmethod
    def _silence(run: _Run, turn_id: int, flush: bool) -> None:
        """Playback refuses audio of turns before `turn_id`, and drops what it holds when asked
        (or when anything is still queued)."""
        speaker = run.speaker
        if speaker is not None:
            speaker.set_current_turn(turn_id)
            if flush or not speaker.idle:
                speaker.flush()

    def _on_device_error(self, err: Exception) -> None:
        self.publish(ErrorEvent(self.controller.current_id, "audio", f"{err}; press Start to reopen the device",
                                recoverable=True, code=code_of(err)))
        self.controller.set_device_error(str(err))

    def restart_audio(self) -> None:
        """Reopen the audio devices after an error."""
        run = self._run
        if run is None:
            return
        if run.capture is not None:
            run.capture.restart()
        if run.speaker is not None:
            run.speaker.restart()
            run.speaker.set_current_turn(self.controller.current_id)
        run.output_failed.clear()
        self.controller.set_device_error("")


def _attach_system_echo():
    """The sound server's canceller on our streams, or None (said once: barge-in acts as `speaker`)."""
    from labvoice.audio.echo import warn_once
    from labvoice.audio.system_echo import SystemEchoCancel, SystemEchoError

    try:
        return SystemEchoCancel.attach()
    except SystemEchoError as err:
        warn_once("system", f"the system echo canceller is unavailable: {err}; barge-in falls back to "
                            f"speaker mode (a raised VAD threshold while the assistant talks)")
        return None
