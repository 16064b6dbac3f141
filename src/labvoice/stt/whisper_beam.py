"""Several readings of one utterance from Whisper's beam search, for the voice path to choose among.

Greedy decoding keeps one word at each step; on voices it was not trained on, tiny.en's first guess is
often a common word where a name of the DB was said ("main" for mean, "mitigation" for validation). A
beam keeps the other guesses, and the reading that binds most of the DB's names is usually the one that
was said (knowledge/query/heard.py: `choose`). On the hearing rig (5 espeak-ng voices x 30 questions,
docs/hearing.md) a beam of 5 alone raised the spoken answers equal to typed from 0.39 to 0.49, choosing
by names to 0.53.

The utterance is decoded in one window (a question is well under Whisper's 30 s), without timestamps,
with faster-whisper's own feature extractor, encoder and prompt layout: first greedy (the first guess,
which the noise rules of `faster_whisper.is_noise` and the end-of-turn judge read, as before the beam), then,
only when that guess is unsure, with the beam over the same encoding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_SAMPLES = 30 * 16000        # Whisper's window: longer audio goes through faster-whisper's segments
MAX_PROMPT_TOKENS = 223            # Whisper's limit (n_text_ctx // 2 - 1); faster-whisper cuts the same way
MAX_NEW_TOKENS = 200               # a spoken question is far shorter; a loop stops here
# A first guess at least this sure is not decoded again with a beam. The app's own voice is heard at -0.03 to
# -0.33 (whole questions), espeak-ng voices at -0.55 to -0.85 (docs/hearing.md): the beam is paid for where
# words were misheard. Always decoding both made first audio ~40 % later on Piper questions (bench.py).
SURE_FIRST_GUESS = -0.35
# An unsure first guess is respelled to one of the words it is given (the query language's: "best", "per",
# "above") where the decoder gave that word a log-probability at most this far below the word it chose:
# "the mass accuracy" -> "the best accuracy", "weight decay, number 0.01" -> "above 0.01". On the rig and
# held-out check 1 (366 hearings, docs/hearing.md) 2 nats gained 12 answers and lost 5, 3 gained 14 and
# lost 2, 4 gained as many and lost more.
RESPELL_NATS = 3.0
SENTENCE_MARKS = (".", "?", "!")


@dataclass(frozen=True)
class BeamReadings:
    """One utterance decoded over one encoding: `text` is the decoder's first guess (greedy), with what the
    noise rules need of it; `readings` are the first guess respelled toward the words it was given
    (`respelled`), when that changes it, then the beam's, best first (empty when the first guess was sure).
    The first guess is what the end-of-turn judge reads, as it was tuned on: the beam's best reading of a
    question cut in its pause ends on a full stop more often ("Which run had a higher." where greedy wrote
    "Which run had a higher"; docs/listening_voices.md)."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    readings: tuple[str, ...]          # the respelled first guess (when it differs), then the beam's
    ending_logprob: float | None = None   # `ending_logprob` of the first guess


def fitted_prompt(tokenizer, words: tuple[str, ...], prompt_for) -> list[int]:
    """Tokens of `prompt_for(words[:k])` for the largest k that fits Whisper's prompt: `words` come most
    important first (the DB's datasets and models before its metrics and parameters), so a large DB
    loses its parameter names from the prompt, never its dataset names. Runs on every utterance, so k is
    found by halving (a longer prefix never has fewer tokens): trying k one by one took ~0.85 s on a DB
    with 300 parameter names."""
    def tokens(k: int) -> list[int]:
        text = prompt_for(words[:k])
        return [] if text is None else tokenizer.encode(" " + text.strip())

    whole = tokens(len(words))
    if len(whole) <= MAX_PROMPT_TOKENS:
        return whole
    fits, too_long = 0, len(words)          # tokens(fits) fits (an empty prompt always does), tokens(too_long) not
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(tokens(middle)) <= MAX_PROMPT_TOKENS:
            fits = middle
        else:
            too_long = middle
    return tokens(fits)


def decode_readings(model, tokenizer, audio: np.ndarray, prompt_tokens: list[int],
                    beam_size: int, sure_above: float = SURE_FIRST_GUESS,
                    respell_to: tuple[str, ...] = ()) -> BeamReadings:
    """The first guess of `audio` (16 kHz mono float32, at most WINDOW_SAMPLES) by faster-whisper `model` (a
    WhisperModel; `tokenizer` its faster-whisper Tokenizer) and, when its average log-probability is below
    `sure_above`, that guess respelled toward `respell_to` (`respelled`) and up to `beam_size` beam
    readings (none with `beam_size` 0), each a whole transcript; the audio is encoded once."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    features = pad_or_trim(model.feature_extractor(audio))
    encoded = model.encode(features)
    prompt = model.get_prompt(tokenizer, list(prompt_tokens), without_timestamps=True)
    options = dict(length_penalty=1.0, max_length=min(model.max_length, len(prompt) + MAX_NEW_TOKENS),
                   return_scores=True, suppress_blank=True, suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])))
    # the scores over the vocabulary at each step cost no measurable time (docs/hearing.md); they give how
    # sure the guess's ending is, and where it is unsure, the respelled reading
    first = model.model.generate(encoded, [prompt], beam_size=1, return_no_speech_prob=True,
                                 return_logits_vocab=True, **options)[0]
    tokens = first.sequences_ids[0] if first.sequences_ids else []
    text = _text(tokenizer, tokens)
    # faster-whisper's recovery of the average log-probability from a length-normalised score
    avg_logprob = first.scores[0] * len(tokens) / (len(tokens) + 1) if first.scores else -10.0
    logits = first.logits[0] if first.logits else []
    readings: list[str] = []
    if avg_logprob < sure_above and respell_to:
        other = respelled(tokenizer, tokens, [np.asarray(step, dtype=np.float32).reshape(-1) for step in logits],
                          respell_to)
        if other != text:
            readings.append(other)
    if avg_logprob < sure_above and beam_size > 0:   # a sure first guess is kept: the beam would cost time for nothing
        beam = model.model.generate(encoded, [prompt], beam_size=beam_size, num_hypotheses=beam_size, **options)[0]
        for ids in beam.sequences_ids:
            reading = _text(tokenizer, ids)
            if reading and reading not in readings:
                readings.append(reading)
    return BeamReadings(text, float(first.no_speech_prob), float(avg_logprob), get_compression_ratio(text) if text else 0.0,
                        tuple(readings), ending_logprob(tokenizer, tokens, logits))


def ending_logprob(tokenizer, tokens: list[int], logits) -> float | None:
    """The lower of the decoder's log-probabilities of the guess's last word (its first token) and of its
    sentence ending there (any of ".", "?" and "!" at the step of its final mark, when it ends on one; only that
    where the last word has a digit, a number whose spelling the decoder weighs, "5" or "five"); None for a
    guess with no words. Speech stopped in a pause mid-question is often written as a finished sentence, but
    the decoder is unsure of how it ends: on the paused questions of `bench.py --pauses` (Piper, 2026-12-07),
    of the first halves whose first guess read as finished, 24 of 46 had one of the two below 0.45, against 1
    of 63 whole questions (docs/listening_voices.md). `logits`: the scores over the vocabulary at each step."""
    ids = [t for t in tokens if t < tokenizer.eot]
    start = _last_word_start(tokenizer, ids)
    if start is None:
        return None
    found = []
    if start < len(logits) and not any(ch.isdigit() for ch in tokenizer.decode(ids[start:])):
        found.append(float(_log_softmax(logits[start])[ids[start]]))
    if tokenizer.decode(ids[-1:]).strip() in SENTENCE_MARKS and len(ids) - 1 < len(logits):
        # the sentence ends here whichever mark it gets: "?" and "." often share the probability
        marks = [encoded[0] for encoded in (tokenizer.encode(mark) for mark in SENTENCE_MARKS) if len(encoded) == 1]
        found.append(float(np.log(np.exp(_log_softmax(logits[len(ids) - 1])[marks]).sum())))
    return min(found) if found else None


def _last_word_start(tokenizer, ids: list[int]) -> int | None:
    """Index of the last word's first token: the last token that begins with a space and holds more than
    punctuation (the first token, holding more, when none does); None when no token holds a word. Decodes
    from the end back, so only the last word's tokens are decoded."""
    for index in range(len(ids) - 1, -1, -1):
        piece = tokenizer.decode(ids[index:index + 1])
        if piece.startswith(" ") and piece.strip(".,?!;: "):
            return index
    return 0 if ids and tokenizer.decode(ids[:1]).strip(".,?!;: ") else None


def _log_softmax(scores) -> np.ndarray:
    """Log-probabilities from the decoder's scores over the vocabulary at one step."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    top = scores.max()
    return scores - top - np.log(np.exp(scores - top).sum())


def respelled(tokenizer, tokens: list[int], logits: list[np.ndarray], words: tuple[str, ...],
              within: float = RESPELL_NATS) -> str:
    """The text of greedy `tokens` with each word the decoder chose respelled to the one of `words` it gave
    the highest log-probability, where that is at most `within` below the chosen word's first token
    (`logits`: the decoder's scores over the vocabulary at each step). Only words one token long are
    offered, and a word with a digit is kept (a number or a version is a name's, not a query word)."""
    offered = {word: ids[0] for word in words if len(ids := tokenizer.encode(" " + word)) == 1}
    pieces: list[str] = []
    start = 0
    ids = [t for t in tokens if t < tokenizer.eot]
    while start < len(ids):
        end = start + 1             # a word: its first token, then the ones that go on without a space
        while end < len(ids) and not (piece := tokenizer.decode([ids[end]])).startswith(" ") and piece.strip(".,?!;:"):
            end += 1
        said = tokenizer.decode(ids[start:end])
        plain = said.strip(" .,?!;:").lower()
        if said.startswith(" ") or start == 0:
            scores = logits[start] if start < len(logits) else None
            if scores is not None and plain and not any(ch.isdigit() for ch in said):
                logprobs = _log_softmax(scores)
                chosen = logprobs[ids[start]]
                near = [(float(logprobs[token]), word) for word, token in offered.items()
                        if word != plain and logprobs[token] >= chosen - within]
                if near:
                    said = " " + max(near)[1]
        pieces.append(said)
        start = end
    return "".join(pieces).strip()


def _text(tokenizer, ids: list[int]) -> str:
    return tokenizer.decode([t for t in ids if t < tokenizer.eot]).strip()
