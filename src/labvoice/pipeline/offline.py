"""The whole pipeline on a file: `python main.py ask --wav IN.wav --out ANSWER.wav --json`.

The file is endpointed frame by frame as the live path would be, so `latency_ms.first_audio`
means the same thing: from the end of speech in the file to the first answer sample, i.e. the
endpointer's silence wait (audio time) plus the wall time from its decision to the first
synthesized sample.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from labvoice.audio.wavio import AudioFileError, read_for_pipeline, write_wav
from labvoice.cancel import CancelToken
from labvoice.pipeline.stages import Stages
from labvoice.style import Style
from labvoice.vad import FRAME_SAMPLES, SAMPLE_RATE


def _endpoint(stages: Stages, audio: np.ndarray):
    """First utterance in the file and the audio time at which the endpointer closed it."""
    from labvoice.vad import Utterance

    detector = stages.new_endpointer()
    padded = np.concatenate([audio, np.zeros(SAMPLE_RATE * 2, dtype=np.float32)])  # room for the silence wait
    usable = len(padded) - len(padded) % FRAME_SAMPLES
    for i, frame in enumerate(padded[:usable].reshape(-1, FRAME_SAMPLES)):
        event = detector.feed(frame, i * FRAME_SAMPLES / SAMPLE_RATE)
        if isinstance(event, Utterance):
            return event, (i + 1) * FRAME_SAMPLES / SAMPLE_RATE
    return None, 0.0


def answer_file(stages: Stages, wav: Path, out: Path | None, style: Style | None = None,
                cancel: CancelToken | None = None) -> dict:
    from labvoice.answer.grounded import Conversation

    config = stages.config
    audio = read_for_pipeline(wav, config.audio.sample_rate)
    cancel = cancel or CancelToken()
    style = style or Style.from_config(config.style)
    utterance, decided_at = _endpoint(stages, audio)
    if utterance is None:
        raise AudioFileError(f"{wav}: no speech found (silence or noise only)")
    endpoint_ms = (decided_at - utterance.t_speech_end) * 1000
    t_decided = time.monotonic()
    t_speech_end = t_decided - endpoint_ms / 1000   # the same clock as every later stamp
    transcript = stages.transcribe(utterance.audio, cancel)
    t_stt = time.monotonic()
    if not transcript:
        raise AudioFileError(f"{wav}: the speech could not be transcribed (noise only?)")
    stream = stages.brain.answerer.answer(transcript, style, cancel, Conversation(), t_start=t_speech_end)
    chunks: list[np.ndarray] = []
    t_first_audio = None
    for piece in stream:
        for chunk in stages.synthesizer.synthesize(piece, style, cancel):
            if t_first_audio is None:
                t_first_audio = time.monotonic()
            chunks.append(np.asarray(chunk, dtype=np.float32))
    result = stream.result
    answer_audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if out is not None:
        write_wav(out, answer_audio, stages.synthesizer.sample_rate)
    latency = {"endpointing": round(endpoint_ms, 1), "stt": round((t_stt - t_speech_end) * 1000, 1)}
    latency.update(result.latency_ms())
    if t_first_audio is not None:
        latency["first_audio"] = round((t_first_audio - t_speech_end) * 1000, 1)
    return {
        "transcript": transcript,
        "answer": result.text,
        "used_run_ids": list(result.used_run_ids),
        "facts": list(result.facts),
        "latency_ms": latency,
        "interrupted": result.interrupted,
        "fallback": result.fallback,
        "warnings": result.warnings + (["speech longer than vad.max_utterance_s was cut"] if utterance.cut_at_max else []),
        "errors": result.errors,
        "answer_wav": str(out) if out else None,
        "answer_seconds": round(len(answer_audio) / stages.synthesizer.sample_rate, 2),
    }


def answer_wav(config, wav: Path, out: Path | None) -> dict:
    stages = Stages.load(config)
    try:
        return answer_file(stages, wav, out)
    finally:
        stages.close()
