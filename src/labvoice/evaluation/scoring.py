"""Scoring one answer against its expectation: run ids, mentions, hallucinations, word error rate.

Run ids and mentions are checked here from the answer text and `used_run_ids` alone. Invented run
ids and values said about a run that are not its own are found by evaluation/claims.py, which reads
the DB with plain sqlite: the evaluation does not re-run the product's guard.
"""
from __future__ import annotations

import itertools
import re
from typing import Iterable, Sequence

from labvoice.evaluation.expect import Expected

# Eight lowercase hex digits, as log_run makes them; all-digit tokens are ordinary numbers.
_RUN_ID_LIKE = re.compile(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{8}\b")
_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(%|percent)?", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9']+(?:\.[0-9]+)?")
MAX_MATCHING_PERMUTATIONS = 8                 # unordered tie matching by brute force up to this size
NUMBER_SLACK = 1e-9


def ids_right(expected: Expected, used: Sequence[str]) -> bool:
    """Whether `used_run_ids` is exactly what the question asks for (ties may be swapped)."""
    if expected.any_runs:
        return True
    if expected.no_runs:
        return len(used) == 0
    accept = expected.acceptable()
    if len(used) != len(accept) or len(set(used)) != len(used):
        return False
    if expected.ordered:
        return all(rid in ok for rid, ok in zip(used, accept))
    if all(len(ok) == 1 for ok in accept):
        return set(used) == {next(iter(ok)) for ok in accept}
    if len(used) > MAX_MATCHING_PERMUTATIONS:
        return set(used) == set(expected.run_ids)
    return any(all(rid in ok for rid, ok in zip(order, accept)) for order in itertools.permutations(used))


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", text.lower()).split())


def _float(text: str) -> float | None:
    """The mention as a number, or None: a run id is text, even one float() reads ("4e768123")."""
    if _RUN_ID_LIKE.fullmatch(text.strip().lower()):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _numbers(text: str) -> Iterable[tuple[float, int]]:
    """Every number said, as (value, decimals shown); a percentage also as its fraction. Run ids are
    not numbers ("4e768b79" is not 4e768)."""
    for m in _NUMBER.finditer(_RUN_ID_LIKE.sub(" ", text)):
        raw = m.group(1)
        value = float(raw)
        decimals = len(raw.split(".")[1].split("e")[0]) if "." in raw else 0
        yield value, decimals
        if m.group(2):
            yield value / 100.0, decimals + 2


def mention_found(mention: str, answer: str) -> bool:
    """A number matches when the answer shows it (rounded as shown, or as a percentage); other text
    matches case-insensitively, with `_`/`-` read as spaces."""
    target = _float(mention)
    if target is None:
        return _normal(mention) in _normal(answer)
    for value, decimals in _numbers(answer):
        if decimals == 0 and target != int(target):
            continue   # "1" does not stand for 0.964
        if abs(value - target) <= 0.5 * 10 ** (-decimals) + NUMBER_SLACK:
            return True
    return False


def run_ids_in(text: str) -> list[str]:
    return _RUN_ID_LIKE.findall(text.lower())


def unknown_run_ids(text: str, db_ids: set[str]) -> list[str]:
    """Run-id-like tokens in the answer that name no run in the DB."""
    return [rid for rid in run_ids_in(text) if rid not in db_ids]


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("-", " ").replace("_", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level edit distance."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1] / len(ref)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of the values; None when there are none."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    rank = (len(data) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def rounded_percentile(values: Sequence[float], fraction: float, digits: int = 1) -> float | None:
    """`percentile` at a fraction (0.5 for the median) rounded for a report; None when there are no values."""
    value = percentile(values, fraction * 100)
    return None if value is None else round(value, digits)
