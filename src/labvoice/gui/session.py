"""The window's handle on the assistant: it creates the `Orchestrator`, runs the orchestrator's
blocking calls on worker threads, and holds the events queue the window polls.

No pipeline logic lives here; every call is the orchestrator's public API. Two workers keep the
Tk thread free:
- `lifecycle`: load + start (tens of seconds on CPU), stop, close;
- `control`: interrupt, pause, resume, ask_text, set_style, restart_audio. These are quick, but
  interrupt flushes the audio device (abort + restart of the output stream), which is not a thing
  to do inside a Tk callback.

Start falls back rather than fails when an audio device cannot be opened: it tries microphone and
speaker, then each alone, then neither (typed questions still work) and reports what it could not
open. The loaded models (`Orchestrator.load()`'s return value, kept as an opaque handle) are
reused for the next start when only audio, barge-in or style settings changed.
"""
from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from typing import Any, Callable

from labvoice.config import Config
from labvoice.gui.tasks import Outcome, Worker

log = logging.getLogger(__name__)

# Config sections a new Orchestrator can change without reloading the models.
NO_RELOAD_SECTIONS = ("audio", "pipeline", "gui", "style", "logging", "source")
# Device combinations tried in order: (with microphone, with speaker).
DEVICE_FALLBACKS = ((True, True), (True, False), (False, True), (False, False))
CLOSE_TIMEOUT_S = 10.0
DEGRADED = {
    (True, False): "The speaker could not be opened, so answers are shown but not spoken.",
    (False, True): "The microphone could not be opened: type your questions (answers are still spoken).",
    (False, False): "Neither the microphone nor the speaker could be opened: type your questions; answers are "
                    "shown but not spoken.",
}


@dataclass(frozen=True)
class Started:
    orchestrator: Any
    events: "queue.Queue"
    stages: Any
    config: Config
    with_input: bool
    with_output: bool
    warning: str = ""


def _model_settings(config: Config) -> dict:
    return config.model_dump(exclude=set(NO_RELOAD_SECTIONS))


def _preload() -> None:
    """Import the pipeline's modules off the Tk thread, so pressing Start never waits on an import."""
    import labvoice.audio.devices  # noqa: F401
    import labvoice.pipeline.orchestrator  # noqa: F401


def _abandon(orchestrator) -> None:
    """Release what a failed start() opened (stop() may itself fail on a half-started one)."""
    try:
        orchestrator.stop()
    except Exception as err:  # noqa: BLE001 - best effort: the object is dropped either way
        log.debug("cleaning up a failed start: %s", err)


class AssistantSession:
    """Owns at most one Orchestrator at a time. Call every method from the Tk thread."""

    def __init__(self, outbox: "queue.SimpleQueue[Outcome]", on_error: Callable[[Exception], None]) -> None:
        self.lifecycle = Worker("gui-lifecycle", outbox, on_error)
        self.control = Worker("gui-control", outbox, on_error)
        self.orchestrator = None
        self.events: "queue.Queue | None" = None
        self.state = "stopped"          # stopped | loading | running | stopping
        self.with_input = self.with_output = False
        self._stages = None
        self._stages_config: Config | None = None
        self._style: dict[str, float] = {}
        self.lifecycle.submit(_preload)

    @property
    def running(self) -> bool:
        return self.state == "running"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, config: Config, style: dict[str, float], on_started: Callable[[Started], None],
              on_failed: Callable[[Exception], None]) -> None:
        """Load the models (once) and start listening, on the lifecycle worker."""
        from labvoice.pipeline.orchestrator import Orchestrator

        if self.state != "stopped":
            return
        self.state = "loading"
        self._style = dict(style)
        reuse = self._stages is not None and _model_settings(config) == _model_settings(self._stages_config)
        previous = None if reuse else self.orchestrator
        if not reuse:
            self._stages = self._stages_config = None
        orchestrator = Orchestrator(config, stages=self._stages)
        self.orchestrator, self.events = orchestrator, orchestrator.events()   # Loading shows at once

        def done(started: Started) -> None:
            self.state = "running"
            self.orchestrator, self.events = started.orchestrator, started.events
            self._stages, self._stages_config = started.stages, started.config
            self.with_input, self.with_output = started.with_input, started.with_output
            on_started(started)

        def failed(err: Exception) -> None:
            self.state = "stopped"
            self.orchestrator = None
            on_failed(err)

        self.lifecycle.submit(self._start_blocking, orchestrator, self.events, config, previous,
                              lambda: dict(self._style), on_done=done, on_error=failed)

    @staticmethod
    def _start_blocking(orchestrator, events, config: Config, previous,
                        style_now: Callable[[], dict[str, float]]) -> Started:
        from labvoice.audio.devices import AudioDeviceError
        from labvoice.gui.errors import trim
        from labvoice.pipeline.orchestrator import Orchestrator

        if previous is not None:
            previous.close()                     # frees the old models before loading new ones
        stages = orchestrator.load()
        first_error: Exception | None = None
        for with_input, with_output in DEVICE_FALLBACKS:
            candidate = orchestrator
            if (with_input, with_output) != DEVICE_FALLBACKS[0]:
                candidate = Orchestrator(config, stages=stages, with_audio_input=with_input,
                                         with_audio_output=with_output)
                events = candidate.events()
            style = style_now()          # the sliders may have moved while the models loaded
            if style:
                candidate.set_style(**style)
            try:
                candidate.start()
            except AudioDeviceError as err:
                first_error = first_error or err
                _abandon(candidate)
                continue
            warning = ""
            if first_error is not None:
                warning = f"{DEGRADED[(with_input, with_output)]}\n{trim(str(first_error))}"
            return Started(candidate, events, stages, config, with_input, with_output, warning)
        raise first_error  # unreachable: the last combination opens no device

    def stop(self, on_stopped: Callable[[Any], None]) -> None:
        if self.state != "running" or self.orchestrator is None:
            return
        self.state = "stopping"

        def done(_: Any) -> None:
            self.state = "stopped"
            on_stopped(None)

        def failed(err: Exception) -> None:
            self.state = "stopped"
            on_stopped(err)

        self.lifecycle.submit(self.orchestrator.stop, on_done=done, on_error=failed)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Window closing: stop everything and free the models (waits up to `timeout`)."""
        if self.orchestrator is not None:
            self.lifecycle.submit(self.orchestrator.close)
        self.control.close(timeout)
        self.lifecycle.close(timeout)

    # -- control -----------------------------------------------------------------------------
    def _call(self, method: str, *args: Any, on_done: Callable[[Any], None] | None = None) -> bool:
        if not self.running or self.orchestrator is None:
            return False
        self.control.submit(getattr(self.orchestrator, method), *args, on_done=on_done)
        return True

    def interrupt(self) -> bool:
        return self._call("interrupt")

    def pause(self) -> bool:
        return self._call("pause")

    def resume(self) -> bool:
        return self._call("resume")

    def restart_audio(self) -> bool:
        return self._call("restart_audio")

    def ask(self, text: str, on_turn: Callable[[int], None] | None = None) -> bool:
        return self._call("ask_text", text, on_done=on_turn)

    def set_style(self, **sliders: float) -> None:
        """Remembered for the next start; applied now (from the next sentence) when running."""
        self._style.update(sliders)
        if self.orchestrator is not None and self.state in ("running", "loading"):
            orchestrator = self.orchestrator
            self.control.submit(lambda: orchestrator.set_style(**sliders))
