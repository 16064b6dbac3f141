"""The evaluation's own check of what an answer claims, independent of the product's guard.

It reads the run DB with plain `sqlite3` and `json` (no labvoice store, vocabulary or executor), then
reads the displayed answer sentence by sentence: every run-id-like token must name a run in the DB
(else an invented id), and every number said after a run id must be a final metric or a parameter
of that run, as shown (rounded to the decimals written; a percentage also as a fraction), a number its note says, or
its margin over another run the answer names. A number that is another run's value, or nobody's, is a
wrong value. Numbers in sentences that name no run
(counts, means, correlations) are left to the question's expected mentions.
"""
from __future__ import annotations

import json
import math
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

_ID_LIKE = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8}\b|\b[0-9a-f]{32}\b", re.I)
_ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?)\s*(%|percent)?", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LIST_POSITION = re.compile(r"\d+\.(?:\s|$)")   # "11. 4e768b79 (...)": a rank in a list, not a value
_COUNT = re.compile(r"\d+\s+(?:more|other|others|runs?)\b", re.I)   # "and 23 more": a count, not a value
SMALL_INTEGER = 10   # ranks, counts of runs and list positions are not values of a run


@dataclass(frozen=True)
class ClaimReport:
    invented_ids: tuple[str, ...] = ()
    wrong_values: tuple[str, ...] = ()      # "run <id>: <number>" per value that is not that run's
    checked_values: int = 0

    @property
    def ok(self) -> bool:
        return not self.invented_ids and not self.wrong_values


@dataclass
class DbTruth:
    """Every run's final metrics and numeric parameters, straight from the `manifests` table."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)   # run id -> {name: value}

    @classmethod
    def load(cls, db_path: str | Path) -> "DbTruth":
        uri = f"file:{Path(db_path)}?mode=ro"
        with sqlite3.connect(uri, uri=True) as con:
            rows = con.execute("SELECT run_id, params_json, final_metrics_json, note FROM manifests").fetchall()
        values: dict[str, dict[str, float]] = {}
        for run_id, params, metrics, note in rows:
            found: dict[str, float] = {}
            for prefix, blob in (("param:", params), ("metric:", metrics)):
                found.update({prefix + k: v for k, v in _numbers_in_json(blob).items()})
            # A note quoted in the answer ("loss exploded to 106.5") says its own numbers.
            for i, m in enumerate(_NUMBER.finditer(_ID_LIKE.sub(" ", str(note or "")))):
                found[f"note:{i}"] = _readings(m.group(1), False)[0][0]
            values[str(run_id)] = found
        return cls(values)

    def check(self, answer: str) -> ClaimReport:
        """Invented ids and wrong values in a displayed answer. A number after a run id must be one
        of that run's values, or its margin over another run the answer names ("ahead by 0.0511")."""
        ids = {rid.lower(): rid for rid in self.values}
        invented: list[str] = []
        wrong: list[str] = []
        checked = 0
        named = {ids[t] for t in re.findall(r"[\w\-]+", answer.lower()) if t in ids}
        for sentence in _SENTENCE_END.split(answer):
            cleaned = _ISO_TIME.sub(lambda m: " " * len(m.group(0)), sentence)
            refs = []
            for m in re.finditer(r"[\w\-]+", cleaned):
                token = m.group(0).lower()
                if token in ids:
                    refs.append((m.start(), m.end(), ids[token]))
                elif _ID_LIKE.fullmatch(token):
                    invented.append(token)
            masked = cleaned
            for start, end, _ in refs:
                masked = masked[:start] + " " * (end - start) + masked[end:]
            masked = _ID_LIKE.sub(lambda m: " " * len(m.group(0)), masked)
            for m in _NUMBER.finditer(masked):
                before = [rid for start, _, rid in refs if start < m.start()]
                if not before or _LIST_POSITION.match(masked, m.start()) or _COUNT.match(masked, m.start()):
                    continue
                readings = _readings(m.group(1), bool(m.group(2)))
                value, decimals = readings[0]
                if decimals == 0 and value == int(value) and 0 <= value <= SMALL_INTEGER:
                    continue
                checked += 1
                run = before[-1]
                truth = list(self.values.get(run, {}).values()) + self._margins(run, named)
                if not any(_shown_as(v, d, t) for v, d in readings for t in truth):
                    wrong.append(f"run {run}: {m.group(0).strip()}")
        return ClaimReport(tuple(dict.fromkeys(invented)), tuple(wrong), checked)

    def _margins(self, run: str, named: set[str]) -> list[float]:
        """|run's value - other's value| for each field both have, over the other runs named."""
        own = self.values.get(run, {})
        return [abs(value - self.values[other][name]) for other in named if other != run
                for name, value in own.items() if name in self.values[other]]


def _numbers_in_json(blob) -> dict[str, float]:
    try:
        data = json.loads(blob) if blob else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            out[str(key)] = float(value)
        elif isinstance(value, str):
            try:
                out[str(key)] = float(value)
            except ValueError:
                pass
    return out


def _readings(raw: str, percent: bool) -> list[tuple[float, int]]:
    raw = raw.replace(",", "")
    value = float(raw)
    decimals = len(raw.split(".")[1].split("e")[0]) if "." in raw else 0
    readings = [(value, decimals)]
    if percent:
        readings.append((value / 100.0, decimals + 2))
    return readings


def _shown_as(value: float, decimals: int, truth: float) -> bool:
    """`value` as written is `truth` rounded to the decimals shown, or to three significant digits."""
    if not (math.isfinite(value) and math.isfinite(truth)):
        return False
    if abs(value - truth) <= 0.5 * 10 ** (-decimals) + 1e-12:
        return True
    return truth != 0 and float(f"{truth:.3g}") == value
