"""The end of speech: per-frame speech probabilities (listening/vad.py) become events.

`EndOfSpeechDetector` turns per-frame speech probabilities into events: `SpeechStart` once speech
has lasted `min_speech_ms`, and an `Utterance` (audio with pre-roll) once `end_silence_ms` of
silence follows, or when speech reaches `max_utterance_s`. `segment_file` does the same offline.
With a judge (listening/judge.py) the end is semantic and the words come early: after a
short pause (judge.speculate_ms) the utterance so far is transcribed (speculatively: a voiced frame
throws the transcript away); after `turn_check_ms` the turn model hears it, and "finished" (with
words that do not stop mid-phrase) ends it at once; otherwise it ends only after
`turn_fallback_ms` of silence. An utterance that ends where its transcript was made carries it.
With the judge's background worker (live: the listener must not stop hearing while Whisper runs)
the words are transcribed off this thread; the model hears the pause at `turn_check_ms` as usual,
and a "finished" verdict waits for the words (read the moment they are back).
"""
from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE, SileroVad
from labvoice.stt.base import Heard

log = logging.getLogger(__name__)

END_HYSTERESIS = 0.15
MIN_END_THRESHOLD = 0.01     # never let the end threshold reach 0 (every frame would count as speech)
# Audio kept after the last voiced frame so word endings the VAD judges early are not clipped.
POST_ROLL_MS = 150
# The silence fallback waits this much longer for words of this very pause still on the worker (a
# loaded machine): transcribing the utterance again after the end would take longer than that.
WORDS_GRACE_MS = 3000


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5        # speech probability that opens speech
    min_speech_ms: int = 200      # voiced time before speech counts (shorter blips are ignored)
    end_silence_ms: int = 400     # silence that ends an utterance
    pre_roll_ms: int = 250        # audio kept from before speech start
    max_utterance_s: float = 15.0 # longer speech is cut here
    turn_check_ms: int = 200      # with a turn model: silence after which it is asked "finished?"
    turn_fallback_ms: int = 1200  # with a turn model: silence that ends the turn whatever it said

    @classmethod
    def from_config(cls, vad_config) -> "VadOptions":
        return cls(threshold=vad_config.threshold, min_speech_ms=vad_config.min_speech_ms,
                   end_silence_ms=vad_config.end_silence_ms, pre_roll_ms=vad_config.pre_roll_ms,
                   max_utterance_s=vad_config.max_utterance_s,
                   turn_check_ms=vad_config.turn_check_ms, turn_fallback_ms=vad_config.turn_fallback_ms)


@dataclass(frozen=True)
class SpeechStart:
    t_speech_start: float         # time of the first voiced frame's start


@dataclass(frozen=True, eq=False)
class Utterance:
    audio: np.ndarray             # float32 16 kHz: pre-roll + speech + a short tail
    t_speech_start: float         # first voiced frame start (monotonic, or seconds into a file)
    t_speech_end: float           # last voiced frame end
    duration_s: float             # t_speech_end - t_speech_start
    cut_at_max: bool = False      # speech went on past max_utterance_s
    ended_by: str = "silence"     # silence | turn_model | max_length
    transcript: Heard | None = None   # the speculative words of exactly this speech, when they were heard


class EndOfSpeechDetector:
    """Feed frames in time order; get `SpeechStart` / `Utterance` events back. One owner thread.

    `feed(frame, t_start)` returns at most one event per frame. `threshold` can be raised while
    the assistant speaks (barge-in in speaker mode) with `set_threshold()` and restored with
    `reset_threshold()`. `last_prob` is the latest frame's speech probability (for the level meter).
    """

    def __init__(self, vad: SileroVad, options: VadOptions = VadOptions(), judge=None) -> None:
        self.vad = vad
        self.options = options
        self.judge = judge                # listening.judge.TurnJudge or None (a fixed silence ends turns)
        self.frame_s = FRAME_SAMPLES / SAMPLE_RATE
        self._pre_roll_frames = math.ceil(options.pre_roll_ms / 1000 / self.frame_s)
        self._post_roll_frames = math.ceil(POST_ROLL_MS / 1000 / self.frame_s)
        self._threshold = options.threshold
        self.last_prob = 0.0
        self._spec_number = 0                 # numbers background transcriptions (never reused)
        self.reset()

    @classmethod
    def from_config(cls, config, vad: SileroVad | None = None, judge=None) -> "EndOfSpeechDetector":
        return cls(vad or SileroVad.from_config(config), VadOptions.from_config(config.vad), judge)

    @property
    def end_silence_ms(self) -> int:
        """The silence that ends an utterance whatever was said."""
        semantic = self.judge is not None and self.judge.model is not None
        return self.options.turn_fallback_ms if semantic else self.options.end_silence_ms

    # -- threshold -------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self._threshold

    def set_threshold(self, value: float) -> None:
        if not 0.0 < value < 1.0:
            raise ValueError(f"VAD threshold must be between 0 and 1, got {value}")
        self._threshold = value

    def reset_threshold(self) -> None:
        self._threshold = self.options.threshold

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop any speech in progress (e.g. while muted) and the model's memory."""
        self.vad.reset()
        self._history: deque[np.ndarray] = deque(maxlen=self._pre_roll_frames)
        self._frames: list[np.ndarray] = []   # frames of the candidate / utterance, pre-roll first
        self._active = False                  # a candidate or confirmed utterance is open
        self._confirmed = False               # SpeechStart was emitted
        self._voiced_s = 0.0
        self._silence_frames = 0
        self._turn_asked = False              # the turn model judged the current pause already
        self._speculated = False              # the current pause was transcribed already
        self._speculative: Heard | None = None  # ... and this is what it said
        self._spec_pending = False            # ... on the judge's worker, not back yet
        self._heard_complete = False          # the turn model said "finished"; the words are awaited
        self._ends_at_ms: float | None = None # ... and the words too, but the turn waits for this much silence
        self._t_start = 0.0
        self._t_last_voiced_end = 0.0
        self._frames_at_last_voiced = 0
        self._run_start: float | None = None  # start of the current unbroken stretch of speech frames
        self.turn_checks = 0                  # how often the turn model was asked (benchmarks)

    @property
    def in_speech(self) -> bool:
        return self._confirmed

    @property
    def speech_run_started(self) -> float | None:
        """When the current unbroken run of speech frames began (None in silence). Barge-in asks for
        an unbroken run: an echo canceller's residual comes in short bursts, a voice does not."""
        return self._run_start

    @property
    def pause_ms(self) -> float:
        """Silence so far after the last voiced frame of the open utterance (0 while speaking)."""
        return self._silence_frames * self.frame_s * 1000

    def audio_so_far(self) -> np.ndarray:
        """The open utterance's audio up to now (pre-roll, speech and the pause so far)."""
        return np.concatenate(self._frames) if self._frames else np.zeros(0, dtype=np.float32)

    def feed(self, frame: np.ndarray, t_start: float) -> SpeechStart | Utterance | None:
        prob = self.vad(frame)
        self.last_prob = prob
        t_end = t_start + self.frame_s
        voiced = prob >= self._threshold
        if not self._active:
            if voiced:
                self._open(frame, t_start, t_end)
                self._run_start = t_start
            else:
                self._history.append(frame)
                self._run_start = None
            return None
        self._frames.append(frame)
        if voiced or prob >= max(MIN_END_THRESHOLD, self._threshold - END_HYSTERESIS):
            # Voiced, or in the hysteresis band: speech goes on (only voiced frames add voiced time).
            if voiced:
                self._voiced_s += self.frame_s
            self._silence_frames = 0
            self._turn_asked = self._speculated = self._spec_pending = self._heard_complete = False
            self._ends_at_ms = None
            self._speculative = None   # a pending background transcript is stale now (its number is)
            if self._run_start is None:
                self._run_start = t_start
            self._t_last_voiced_end = t_end
            self._frames_at_last_voiced = len(self._frames)
        else:
            self._silence_frames += 1
            self._run_start = None
        if not self._confirmed and self._voiced_s * 1000 >= self.options.min_speech_ms:
            self._confirmed = True
            return SpeechStart(self._t_start)
        if self._spec_pending:
            ready, text = self.judge.background.result(self._spec_number)
            if ready:
                self._spec_pending, self._speculative = False, text
        if self.pause_ms >= self.end_silence_ms and (not self._spec_pending or
                                                     self.pause_ms >= self.end_silence_ms + WORDS_GRACE_MS):
            return self._close(cut_at_max=False)
        if self._ends_at_ms is not None and self.pause_ms >= self._ends_at_ms:
            return self._close(cut_at_max=False, ended_by="turn_model")
        judge = self.judge
        if judge is not None and self._confirmed and self.pause_ms > 0:
            if judge.transcribes and not self._speculated and self.pause_ms >= judge.speculate_ms:
                self._speculated = True
                if judge.background is not None:   # off this thread: frames and the turn check go on
                    self._spec_number += 1
                    self._spec_pending = True
                    judge.background.submit(self._spec_number, self.audio_so_far())
                else:
                    self._speculative = judge.transcribe(self.audio_so_far())
            if judge.model is not None and not self._turn_asked and self.pause_ms >= self.options.turn_check_ms:
                self._turn_asked = True
                self.turn_checks += 1
                if self._spec_pending:
                    # The words are not back yet: the model hears the pause now (the same audio as
                    # when the words are ready at once), and the words are read when they come.
                    self._heard_complete = judge.is_complete(self.audio_so_far(), None)
                elif judge.is_complete(self.audio_so_far(), self._speculative):
                    return self._turn_over(judge)
            elif self._heard_complete and not self._spec_pending:
                self._heard_complete = False
                if judge.words_end_turn(self._speculative):
                    return self._turn_over(judge)
        if self._confirmed and t_end - self._t_start >= self.options.max_utterance_s:
            return self._close(cut_at_max=True)
        return None

    def close(self) -> None:
        """Stop the judge's background worker (the listener ends)."""
        if self.judge is not None:
            self.judge.close()

    def finish(self) -> Utterance | None:
        """End of input (a file, or the mic stopping): the confirmed utterance in progress, if any."""
        if self._active and self._confirmed:
            return self._close(cut_at_max=False)
        self._active = False
        return None

    def _turn_over(self, judge) -> Utterance | None:
        """The turn model and the words say "finished": the turn ends now, or, when the words make
        no question the assistant can act on, once the pause reaches the judge's wait for those."""
        wait_ms = judge.wait_ms(self._speculative)
        if self.pause_ms >= wait_ms:
            return self._close(cut_at_max=False, ended_by="turn_model")
        self._ends_at_ms = wait_ms
        return None

    def _open(self, frame: np.ndarray, t_start: float, t_end: float) -> None:
        self._frames = list(self._history) + [frame]
        self._history.clear()
        self._active, self._confirmed = True, False
        self._voiced_s = self.frame_s
        self._silence_frames = 0
        self._turn_asked = self._speculated = self._spec_pending = self._heard_complete = False
        self._ends_at_ms = None
        self._speculative = None
        self._t_start = t_start
        self._t_last_voiced_end = t_end
        self._frames_at_last_voiced = len(self._frames)

    def _close(self, cut_at_max: bool, ended_by: str = "silence") -> Utterance | None:
        transcript, self._speculative, self._speculated = self._speculative, None, False
        self._spec_pending = self._heard_complete = False
        self._ends_at_ms = None
        keep = min(len(self._frames), self._frames_at_last_voiced + self._post_roll_frames)
        confirmed = self._confirmed
        audio = np.concatenate(self._frames[:keep]) if confirmed else None
        # The trailing silence becomes the next utterance's pre-roll; after a cut the speech goes
        # on, and repeating its last frames would repeat words in the next transcript.
        self._history.clear()
        if not cut_at_max and self._pre_roll_frames:
            self._history.extend(self._frames[-self._pre_roll_frames:])
        self._frames = []
        self._active = self._confirmed = False
        self._silence_frames = 0
        if not confirmed:
            return None  # a blip shorter than min_speech_ms
        return Utterance(audio=audio, t_speech_start=self._t_start, t_speech_end=self._t_last_voiced_end,
                         duration_s=self._t_last_voiced_end - self._t_start, cut_at_max=cut_at_max,
                         ended_by="max_length" if cut_at_max else ended_by,
                         transcript=None if cut_at_max else transcript)


def segment_file(audio: np.ndarray, detector: EndOfSpeechDetector) -> list[Utterance]:
    """All utterances in 16 kHz mono audio; times are seconds from the start of `audio`."""
    detector.reset()
    utterances: list[Utterance] = []
    usable = len(audio) - len(audio) % FRAME_SAMPLES
    frames = np.asarray(audio[:usable], dtype=np.float32).reshape(-1, FRAME_SAMPLES)
    for i, frame in enumerate(frames):
        event = detector.feed(frame, i * FRAME_SAMPLES / SAMPLE_RATE)
        if isinstance(event, Utterance):
            utterances.append(event)
    if len(audio) > usable:  # zero-pad the last partial frame so trailing speech is not lost
        tail = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        tail[:len(audio) - usable] = audio[usable:]
        event = detector.feed(tail, usable / SAMPLE_RATE)
        if isinstance(event, Utterance):
            utterances.append(event)
    last = detector.finish()
    if last is not None:
        utterances.append(last)
    return utterances
