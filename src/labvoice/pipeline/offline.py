"""The whole pipeline on a file: `python main.py ask --wav IN.wav --out ANSWER.wav --json`, through
the same turn runner as the live assistant (pipeline/runner.py), with the answer's audio kept.

The file is endpointed frame by frame as the live path would be, so `latency_ms.first_audio`
means the same thing: from the end of speech in the file to the first answer sample, i.e. the
endpointer's silence wait (audio time) plus the wall time from its decision to the first
synthesized sample.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labvoice.answer.grounded import Conversation
from labvoice.audio.wavio import AudioFileError, read_for_pipeline, write_wav
from labvoice.cancel import CancelToken
from labvoice.pipeline.runner import AudioFileSink, TurnOutcome, one_off
from labvoice.pipeline.stages import Stages
from labvoice.style import Style
from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE


def first_utterance(stages: Stages, audio: np.ndarray):
    """First utterance in the file and the audio time at which the endpointer closed it."""
    from labvoice.listening.endpointer import Utterance

    detector = stages.new_endpointer(background=False)   # frames come faster than real time
    padded = np.concatenate([audio, np.zeros(SAMPLE_RATE * 2, dtype=np.float32)])  # room for the silence wait
    usable = len(padded) - len(padded) % FRAME_SAMPLES
    for i, frame in enumerate(padded[:usable].reshape(-1, FRAME_SAMPLES)):
        event = detector.feed(frame, i * FRAME_SAMPLES / SAMPLE_RATE)
        if isinstance(event, Utterance):
            return event, (i + 1) * FRAME_SAMPLES / SAMPLE_RATE
    return None, 0.0


@dataclass(frozen=True)
class FileAnswer:
    outcome: TurnOutcome
    answer_wav: Path | None       # where the spoken answer was written (None: not written)
    answer_seconds: float


def answer_file(stages: Stages, wav: Path, out: Path | None, style: Style | None = None,
                cancel: CancelToken | None = None) -> FileAnswer:
    """Endpoint the file, then answer its first utterance through the turn runner."""
    config = stages.config
    audio = read_for_pipeline(wav, config.audio.sample_rate)
    style = style or Style.from_config(config.style)
    utterance, decided_at = first_utterance(stages, audio)
    if utterance is None:
        raise AudioFileError(f"{wav}: no speech found (silence or noise only)")
    endpoint_ms = (decided_at - utterance.t_speech_end) * 1000
    t_speech_end = time.monotonic() - endpoint_ms / 1000   # the same clock as every later stamp
    job = one_off(audio=utterance.audio, t_start=t_speech_end, endpoint_ms=endpoint_ms,
                  cut_at_max=utterance.cut_at_max, cancel=cancel)
    sink = AudioFileSink(stages.synthesizer, style, job.cancel)
    outcome = stages.runner().run(job, sink, style, Conversation())
    if not outcome.transcript:
        raise AudioFileError(f"{wav}: the speech could not be transcribed (noise only?)")
    if out is not None:
        write_wav(out, sink.audio, stages.synthesizer.sample_rate)
    return FileAnswer(outcome, out, sink.seconds)


def answer_wav(config, wav: Path, out: Path | None) -> FileAnswer:
    stages = Stages.load(config)
    try:
        return answer_file(stages, wav, out)
    finally:
        stages.close()
