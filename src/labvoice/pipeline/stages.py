"""The loaded models of every stage (VAD, STT, the brain: retrieval + LLM + answerer, TTS), loaded
once and shared by the live assistant, the CLI, the evaluation and the benchmarks."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from labvoice.app import Brain, load_brain, setup
from labvoice.backends import make_synthesizer, make_transcriber
from labvoice.config import Config
from labvoice.events import Event
from labvoice.pipeline.runner import TurnRunner
from labvoice.pipeline.hearing import hear_utterance
from labvoice.stt.base import Heard, Transcriber
from labvoice.tts.base import Synthesizer

if TYPE_CHECKING:   # onnxruntime and faster-whisper load with the models, not with this module
    from labvoice.listening.smart_turn import SmartTurn
    from labvoice.listening.vad import SileroVad

log = logging.getLogger(__name__)


@dataclass
class Stages:
    config: Config
    brain: Brain
    transcriber: Transcriber
    synthesizer: Synthesizer
    vad: SileroVad
    turn_model: SmartTurn | None = None   # None: a fixed silence ends turns

    @classmethod
    def load(cls, config, progress: Callable[[str], None] = lambda msg: None) -> "Stages":
        from labvoice.listening.smart_turn import load_turn_model
        from labvoice.listening.vad import SileroVad

        profile = setup(config)
        progress("loading the voice activity detector")
        vad = SileroVad.from_config(config)
        turn_model = load_turn_model(config)
        progress("loading speech recognition")
        transcriber = make_transcriber(config, profile)
        progress("loading the language model and knowledge index")
        brain = load_brain(config, profile)
        progress("loading the voice")
        synthesizer = make_synthesizer(config, profile)
        stages = cls(config, brain, transcriber, synthesizer, vad, turn_model)
        progress("warming up")
        stages.warm_up()
        return stages

    def warm_up(self) -> None:
        """Run each model once, so the first question is not the one that pays for first calls
        (allocations, onnxruntime's first run, llama.cpp's prompt cache: measured ~0.1-1 s each)."""
        import numpy as np

        from labvoice.cancel import NEVER
        from labvoice.style import Style

        tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
        steps = [("speech recognition", lambda: self.transcribe(tone, NEVER)),
                 ("the language model and the question parser", self.brain.answerer.warm_up),
                 ("the voice", lambda: list(self.synthesizer.synthesize("Hello.", Style(), NEVER)))]
        if self.turn_model is not None:
            steps.append(("the end-of-turn model", lambda: self.turn_model.probability(np.zeros(16000, np.float32))))
        for what, step in steps:
            try:
                step()
            except Exception as err:  # noqa: BLE001 - a warm-up failing only costs time; the real call reports
                log.warning("warming up %s failed: %s", what, err)

    def new_endpointer(self, background: bool = True):
        """The listener's endpointer: with the turn model, the end of a turn is judged at a short
        pause (listening.judge.TurnJudge) and the words are transcribed while the person pauses, on a
        worker (the listener goes on hearing; `close()` the endpointer to end it). Files fed faster
        than real time (`background=False`) transcribe in the caller's thread, as the decision must
        not depend on how fast the frames came."""
        from labvoice.cancel import NEVER
        from labvoice.listening.judge import TurnJudge
        from labvoice.listening.endpointer import EndOfSpeechDetector

        judge = None
        if self.turn_model is not None:
            judge = TurnJudge(self.turn_model, lambda audio: self.hear(audio, NEVER), background=background,
                              acts_on=self.brain.retriever.acts_on, unclear_wait_ms=self.config.vad.unclear_wait_ms,
                              unsure_complete_at=self.config.vad.unsure_complete_at)
        return EndOfSpeechDetector.from_config(self.config, vad=self.vad, judge=judge)

    def transcribe(self, audio, cancel) -> str:
        """The words said (what the turn runner answers)."""
        return self.hear(audio, cancel).text

    def hear(self, audio, cancel) -> Heard:
        """The words with Whisper's certainty (for the end-of-turn judge); pipeline/hearing.py."""
        return hear_utterance(self.transcriber, audio, self._catalog(), cancel)

    def _catalog(self):
        """The DB's names for hearing, or None (hints turned off, or no DB: reported by the answer, not here)."""
        if not self.config.stt.hint_db_names:
            return None
        try:
            return self.brain.retriever.finder().catalog
        except Exception as exc:  # noqa: BLE001 - a DB problem is reported by the answer, not here
            log.debug("no DB names to hear by: %s", exc)
            return None

    def close(self) -> None:
        self.brain.close()

    def runner(self, publish: Callable[[Event], None] = lambda event: None) -> TurnRunner:
        """The one turn runner on these models (see pipeline/runner.py)."""
        return TurnRunner(self.brain.answerer, self.transcribe, publish)
