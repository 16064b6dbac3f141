"""Claims checked as claims: a value said about a run must be that run's value.

The executor's result carries `claims` ((run_id, field, value) triples) and typed rows. A sentence
is read as claims too: the runs it refers to (by id, by spoken handle, or as "the MLP on digits"),
the fields it names, and its numbers. Each number must be the value of a field of the run it is
said about; a number that is another run's value ("run A had B's value") fails, and so does one
that appears only in the question. Numbers said about no run must be among the result's values
(aggregates, group rows, counts).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from labvoice.knowledge.query.wording import dataset_words, kind_words, words_for_name
from labvoice.knowledge.vocab import model_aliases, normalize_text

# Small whole numbers ("two sentences", "3 runs", list positions) are too common to police here;
# counts are checked by the answerer against the count facts.
FREE_INTEGER_MAX = 10
SPOKEN_ROUNDING = 5e-3   # three significant digits are within half a percent
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?\s*(%|percent|percentage points)?", re.I)
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{6,40}\b", re.I)
_HANDLE = re.compile(r"\brun ([0-9a-z]) ([0-9a-z]) ([0-9a-z])\b", re.I)
_ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")


@dataclass(frozen=True)
class ClaimVerdict:
    ok: bool
    problem: str = ""


@dataclass(frozen=True)
class SaidNumber:
    position: int
    readings: tuple[tuple[float, int], ...]   # (value, decimals shown); a percentage also as a fraction

    @property
    def free(self) -> bool:
        value, decimals = self.readings[0]
        return decimals == 0 and value == int(value) and 0 <= value <= FREE_INTEGER_MAX


def said_numbers(text: str) -> list[SaidNumber]:
    """Every number in `text` with its readings; run ids and timestamps are not numbers."""
    text = _ISO_TIME.sub(lambda m: " " * len(m.group(0)), text)
    text = _HEX_ID.sub(lambda m: " " * len(m.group(0)), text)
    found = []
    for m in _NUMBER.finditer(text):
        unit = (m.group(1) or "").lower()
        raw = m.group(0)[: len(m.group(0)) - len(m.group(1) or "")].strip().replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        if not math.isfinite(value):
            found.append(SaidNumber(m.start(), ((value, 0),)))
            continue
        decimals = len(raw.split(".")[1].split("e")[0]) if "." in raw else 0
        readings = [(value, decimals)]
        if unit:
            readings.append((value / 100.0, decimals + 2))
        found.append(SaidNumber(m.start(), tuple(readings)))
    return found


def _matches(value: float, decimals: int, truth: float) -> bool:
    """`value`, shown with `decimals` decimals, is `truth` rounded; a large whole number may be
    rounded to three significant digits for the ear (1230 for 1234)."""
    if not (math.isfinite(value) and math.isfinite(truth)):
        return False
    if abs(value - truth) <= 0.5 * 10 ** (-decimals) + 1e-12:
        return True
    return decimals == 0 and abs(truth) >= 1000 and abs(value - truth) <= SPOKEN_ROUNDING * abs(truth)


def _said_matches(number: SaidNumber, truth: float) -> bool:
    return any(_matches(v, d, truth) for v, d in number.readings)


def _as_float(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _field_phrases(field: str) -> set[str]:
    """How a sentence may name a claim's field: "metric:val_accuracy" -> {"val_accuracy",
    "val accuracy", "validation accuracy"}."""
    name = field.split(":", 1)[1] if ":" in field else field
    return {p for p in {name.lower(), name.lower().replace("_", " "), words_for_name(name).lower()} if p}


class ClaimChecker:
    """Built once per answer from the executor's result; `check(sentence)` per spoken piece."""

    def __init__(self, claims: Iterable, rows: Iterable = (), result_texts: Iterable[str] = (),
                 known_run_ids: Iterable[str] = ()) -> None:
        self._values: dict[str, list[tuple[str, float]]] = {}
        self._runs: dict[str, tuple[str, str]] = {}     # run id -> (model kind, dataset)
        self._fields: set[str] = set()
        free: list[float] = []
        for claim in claims:
            number = _as_float(claim.value)
            self._fields.add(claim.field)
            if number is not None:
                self._values.setdefault(claim.run_id, []).append((claim.field, number))
        for row in rows:
            numbers = [(name, _as_float(v)) for name, v in row.values]
            numbers = [(name, v) for name, v in numbers if v is not None]
            if row.run_id:
                self._runs[row.run_id] = (row.model_kind or "", row.dataset or "")
                self._values.setdefault(row.run_id, []).extend(numbers)
            else:
                free.extend(v for _, v in numbers)
        for text in result_texts:   # counts, correlations, thresholds the facts state
            free.extend(reading[0] for n in said_numbers(text) for reading in n.readings[:1])
        self._free = free
        self._all = free + [v for values in self._values.values() for _, v in values]
        self._ids = {rid.lower(): rid for rid in set(self._values) | set(self._runs) | set(known_run_ids)}
        self._handles = {" ".join(rid[:3]).lower(): rid for rid in self._ids.values()}

    # --- reading a sentence ---------------------------------------------------------------------
    def _references(self, sentence: str) -> list[tuple[int, str]]:
        """(position, run id) of every run the sentence names, in order."""
        refs = [(m.start(), self._ids[m.group(0).lower()]) for m in re.finditer(r"[0-9a-zA-Z_\-]+", sentence)
                if m.group(0).lower() in self._ids]
        refs += [(m.start(), self._handles[" ".join(m.groups()).lower()]) for m in _HANDLE.finditer(sentence)
                 if " ".join(m.groups()).lower() in self._handles]
        return sorted(refs)

    def _described(self, sentence: str) -> list[str]:
        """Runs of the result the sentence describes by model kind and/or dataset ("the MLP on digits")."""
        low = " " + normalize_text(sentence).replace("_", " ") + " "
        tokens = set(re.findall(r"[a-z0-9_]+", normalize_text(sentence)))
        kinds = {k for k, _ in self._runs.values() if k and (model_aliases(k) & tokens or
                                                            f" {kind_words(k).lower()} " in low)}
        datasets = {d for _, d in self._runs.values() if d and (f" {d.lower().replace('_', ' ')} " in low or
                                                               f" {dataset_words(d).lower()} " in low)}
        if not kinds and not datasets:
            return []
        return [rid for rid, (k, d) in self._runs.items()
                if (not kinds or k in kinds) and (not datasets or d in datasets)]

    def _field_at(self, sentence: str, position: int) -> str | None:
        """The claim field named closest before `position` (within the sentence), if any."""
        low = sentence.lower()
        best: tuple[int, str] | None = None
        for field in self._fields:
            for phrase in _field_phrases(field):
                at = low.rfind(phrase, 0, position)
                if at >= 0 and (best is None or at > best[0]):
                    best = (at, field)
        return best[1] if best else None

    # --- the check ------------------------------------------------------------------------------
    def check(self, sentence: str, question: str = "") -> ClaimVerdict:
        refs = self._references(sentence)
        described = [] if refs else self._described(sentence)
        for number in said_numbers(sentence):
            if number.free:
                continue
            shown = number.readings[0][0]
            if refs:
                before = [rid for at, rid in refs if at < number.position]
                runs = [before[-1]] if before else [refs[0][1]]
            else:
                runs = described
            if not runs:
                if any(_said_matches(number, v) for v in self._all):
                    continue
                where = " (it is only in the question)" if question and _in_text(number, question) else ""
                return ClaimVerdict(False, f"number {shown:g} is not in the facts{where}")
            field = self._field_at(sentence, number.position)
            own = [(f, v) for rid in runs for f, v in self._values.get(rid, [])]
            if field is not None and any(f == field for f, _ in own):
                own = [(f, v) for f, v in own if f == field]
            if any(_said_matches(number, v) for _, v in own):
                continue
            others = [rid for rid, values in self._values.items() if rid not in runs
                      and any(_said_matches(number, v) for f, v in values if field is None or f == field)]
            who = runs[0] if len(runs) == 1 else "these runs"
            if others:
                return ClaimVerdict(False, f"{shown:g} is not the value of run {who} (it belongs to run {others[0]})")
            if any(_said_matches(number, v) for v in self._free):
                continue   # an aggregate said next to a run ("beats the mean of 0.91")
            return ClaimVerdict(False, f"{shown:g} is not a value of run {who}")
        return ClaimVerdict(True)


def _in_text(number: SaidNumber, text: str) -> bool:
    return any(_said_matches(number, r[0]) for n in said_numbers(text) for r in n.readings[:1])
