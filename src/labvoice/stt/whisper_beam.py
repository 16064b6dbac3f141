"""Several readings of one utterance from Whisper's beam search, for the voice path to choose among.

Greedy decoding keeps one word at each step; on voices it was not trained on, tiny.en's first guess is
often a common word where a name of the DB was said ("main" for mean, "mitigation" for validation). A
beam keeps the other guesses, and the reading that binds most of the DB's names is usually the one that
was said (knowledge/query/heard.py: `choose`). On the hearing rig (5 espeak-ng voices x 30 questions,
docs/hearing.md) a beam of 5 alone raised the spoken answers equal to typed from 0.39 to 0.49, choosing
by names to 0.53, for ~1.2x the transcription time of greedy.

The utterance is decoded in one window (a question is well under Whisper's 30 s), without timestamps,
with faster-whisper's own feature extractor, encoder and prompt layout; the noise rules of
`faster_whisper.is_noise` judge the best reading.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_SAMPLES = 30 * 16000        # Whisper's window: longer audio goes through faster-whisper's segments
MAX_PROMPT_TOKENS = 223            # Whisper's limit (n_text_ctx // 2 - 1); faster-whisper cuts the same way
MAX_NEW_TOKENS = 200               # a spoken question is far shorter; a loop stops here


@dataclass(frozen=True)
class BeamReadings:
    """The beam's readings, best first (`text` is the first), with what the noise rules need of the best."""

    readings: tuple[str, ...]
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float

    @property
    def text(self) -> str:
        return self.readings[0] if self.readings else ""


def fitted_prompt(tokenizer, words: tuple[str, ...], prompt_for) -> list[int]:
    """Tokens of `prompt_for(words[:k])` for the largest k that fits Whisper's prompt: `words` come most
    important first (the DB's datasets and models before its metrics and parameters), so a large DB
    loses its parameter names from the prompt, never its dataset names."""
    for k in range(len(words), -1, -1):
        text = prompt_for(words[:k])
        if text is None:
            return []
        tokens = tokenizer.encode(" " + text.strip())
        if len(tokens) <= MAX_PROMPT_TOKENS:
            return tokens
    return []


def decode_readings(model, tokenizer, audio: np.ndarray, prompt_tokens: list[int],
                    beam_size: int) -> BeamReadings:
    """Up to `beam_size` readings of `audio` (16 kHz mono float32, at most WINDOW_SAMPLES) by faster-whisper
    `model` (a WhisperModel; `tokenizer` its faster-whisper Tokenizer), each a whole transcript."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    features = pad_or_trim(model.feature_extractor(audio))
    encoded = model.encode(features)
    prompt = model.get_prompt(tokenizer, list(prompt_tokens), without_timestamps=True)
    result = model.model.generate(
        encoded, [prompt], beam_size=beam_size, num_hypotheses=beam_size, length_penalty=1.0,
        max_length=min(model.max_length, len(prompt) + MAX_NEW_TOKENS), return_scores=True,
        return_no_speech_prob=True, suppress_blank=True,
        suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])))[0]
    readings: list[str] = []
    for ids in result.sequences_ids:
        text = tokenizer.decode([t for t in ids if t < tokenizer.eot]).strip()
        if text and text not in readings:
            readings.append(text)
    best = result.sequences_ids[0] if result.sequences_ids else []
    # faster-whisper's recovery of the average log-probability from a length-normalised beam score
    avg_logprob = result.scores[0] * len(best) / (len(best) + 1) if result.scores else -10.0
    return BeamReadings(tuple(readings), float(result.no_speech_prob), float(avg_logprob),
                        get_compression_ratio(readings[0]) if readings else 0.0)
