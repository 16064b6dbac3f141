"""The end-of-turn judge the endpointer asks at a pause: Smart Turn hears how the last seconds
sounded, and the words so far (a speculative transcript, on a worker in the live app) must read as a
finished sentence the assistant can act on.

The endpointer (listening/endpointer.py) asks at a short silence (`vad.turn_check_ms`); "complete"
ends the turn at once, "incomplete" waits for the fallback silence (`turn_fallback_ms`). Complete
means both: Smart Turn's probability is above `vad.turn_complete_at` (0.85, not the model's own 0.5,
which ended "which run had | ..." on the app's Piper voice), and the words so far do not stop
mid-phrase (listening/words.py). Measured with `scripts/bench.py --pauses` (README): Smart Turn
alone calls many such fragments finished; the words catch most of them. Words Whisper was unsure of
(listening/words.py's UNSURE_LOGPROB) do not end a turn, unless Smart Turn's probability is above
`vad.unsure_complete_at` and they read as finished (an unfamiliar voice makes tiny.en unsure of whole
questions; 1.0 = never, docs/listening_voices.md).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Callable

import numpy as np

from labvoice.listening.smart_turn import SmartTurn
from labvoice.listening.words import ends_unfinished, unsure_words
from labvoice.stt.base import Heard

log = logging.getLogger(__name__)


class TurnJudge:
    """Decides at a pause whether the turn is over: Smart Turn hears how the last seconds sounded,
    and the words so far (a speculative transcript, kept for the turn if it ends here) must read
    as a finished sentence (`ends_unfinished`). Either part may be absent. One owner thread (the listener)."""

    def __init__(self, model: SmartTurn | None, transcribe: Callable[[np.ndarray], Heard | str] | None = None,
                 speculate_ms: int = 64,
                 background: bool = False, acts_on=None, unclear_wait_ms: int = 0,
                 unsure_complete_at: float = 1.0) -> None:
        self.model = model
        # Smart Turn's probability above which words Whisper was unsure of may end the turn (1.0: never).
        self.unsure_complete_at = unsure_complete_at
        self._transcribe = transcribe          # audio -> Heard (or plain text), or None (no speculative transcription)
        # words -> can the assistant act on them (a question it can answer)? Words it cannot act on
        # end the turn only after `unclear_wait_ms` of silence: they are what a question broken off
        # in a pause reads as ("could you tell me?", "which model performed?").
        self._acts_on = acts_on
        self.unclear_wait_ms = unclear_wait_ms
        self.speculate_ms = speculate_ms       # pause after which the words so far are transcribed
        self.last_probability: float | None = None
        # background: the words are transcribed on a worker (stt/speculative.py) while the listener
        # keeps hearing and the turn model judges the pause; else in the caller's thread (offline).
        self.background = None
        if background and transcribe is not None:
            from labvoice.stt.speculative import BackgroundTranscriber

            self.background = BackgroundTranscriber(self.transcribe)

    @property
    def transcribes(self) -> bool:
        return self._transcribe is not None

    def transcribe(self, audio: np.ndarray) -> Heard | None:
        """The words so far, read for whether they make an actionable question (`Heard.actionable`);
        on the background worker when there is one, so the listener never waits for the parser."""
        if self._transcribe is None:
            return None
        try:
            said = self._transcribe(audio)
        except Exception as err:  # noqa: BLE001 - speculation is an optimisation: the turn transcribes again
            log.warning("speculative transcription failed: %s", err)
            return None
        if said is None:
            return None
        words = said if isinstance(said, Heard) else Heard(said)   # a plain transcriber: no certainty
        if self._acts_on is None or not words.text.strip():
            return words
        try:
            actionable = bool(self._acts_on(words.text))
        except Exception as err:  # noqa: BLE001 - the parser failing must not stop the turn from ending
            log.warning("reading the words for the end of turn failed: %s", err)
            actionable = True
        return dataclasses.replace(words, actionable=actionable)

    def wait_ms(self, words: Heard | None) -> int:
        """Silence the turn needs before it ends once the turn model and the words say "finished"."""
        return self.unclear_wait_ms if words is not None and not words.actionable else 0

    def close(self) -> None:
        """End the background worker, if any."""
        if self.background is not None:
            self.background.close()

    def is_complete(self, audio: np.ndarray, transcript: Heard | None) -> bool:
        self.last_probability = None
        if ends_unfinished(transcript.ending if transcript is not None else None):
            return False
        if self.model is None:
            return transcript is not None and bool(transcript.text.strip()) and not unsure_words(transcript)
        if unsure_words(transcript) and self.unsure_complete_at >= 1.0:
            return False                       # never enough: the model need not run
        self.last_probability = self.model.probability(audio)
        return self.last_probability > self.model.complete_at and self.words_end_turn(transcript)

    def words_end_turn(self, transcript: Heard | None) -> bool:
        """The words may end a turn the model heard as finished (`last_probability`): they read as
        finished, and Whisper was sure of them or the model is surer than `unsure_complete_at`. The
        endpointer asks this when the words come back after the model judged the pause."""
        if ends_unfinished(transcript.ending if transcript is not None else None):
            return False
        if not unsure_words(transcript):
            return True
        return self.last_probability is not None and self.last_probability > self.unsure_complete_at
