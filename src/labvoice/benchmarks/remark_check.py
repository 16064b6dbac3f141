"""An independent count of the remarks spoken after the facts: how many were spoken, and how many said
nothing new. Written apart from answer/remarks.py (the check that decides) so that it can catch what
that check lets through.

A remark adds something when it names a number, a run id (its first 4+ hex characters) or a name
that the turn's facts or typed rows hold and the facts' spoken part did not say; otherwise it "said
nothing new" (every such token already said, or none of them in the facts: advice, filler). A number
that neither the facts nor the answer hold is counted apart, as invented.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?!\w)")
_HEX = re.compile(r"\b[0-9a-f]{4,40}\b")
_WORD = re.compile(r"[a-z][a-z0-9]+")
_NAME_FIELDS = ("dataset", "model_kind")


def _numbers(text: str) -> set[float]:
    """The values of the numbers in `text`, with a percent's fraction beside it (94.3 and 0.943)."""
    out: set[float] = set()
    for m in _NUMBER.finditer(text):
        value = float(m.group(0).replace(",", ""))
        out |= {round(value, 3), round(value / 100, 3)} if value > 1 else {round(value, 3), round(value * 100, 1)}
    return out


def _names(facts: Sequence[dict], rows: Sequence[dict]) -> set[str]:
    """Names the facts and rows hold, lower case, as written and with underscores as spaces."""
    raw: set[str] = set()
    for row in rows:
        raw |= {str(row.get(f, "")) for f in _NAME_FIELDS}
        raw |= {str(k) for k in (row.get("values") or {})}
    return {form for name in raw if len(name) >= 3 for form in (name.lower(), name.lower().replace("_", " "))}


def _run_ids(facts: Sequence[dict], rows: Sequence[dict]) -> set[str]:
    ids = {str(r) for f in facts for r in f.get("run_ids", ())} | {str(r.get("run_id", "")) for r in rows}
    return {i.lower() for i in ids if i}


@dataclass(frozen=True)
class RemarkVerdict:
    remark: str
    new: tuple[str, ...]          # what it adds (empty: said nothing new)
    invented: tuple[str, ...] = ()   # numbers neither the facts nor the answer hold

    @property
    def said_nothing(self) -> bool:
        return not self.new


def judge_remark(remark: str, answer_said: str, facts: Sequence[dict], rows: Sequence[dict] = ()) -> RemarkVerdict:
    """`answer_said`: the spoken facts before the remark; `facts`: the turn's facts (`Fact.as_dict`),
    `rows`: its typed rows (`Row.as_dict`)."""
    low, said = remark.lower(), answer_said.lower()
    held = " ".join(f"{f.get('text', '')} {f.get('spoken', '')}" for f in facts).lower()
    new: list[str] = []
    said_numbers, held_numbers = _numbers(said), _numbers(held) | {
        v for r in rows for x in (r.get("values") or {}).values() if isinstance(x, (int, float))
        for v in _numbers(str(x))}
    invented: list[str] = []
    for m in _NUMBER.finditer(low):
        values = _numbers(m.group(0))
        if values & held_numbers and not values & said_numbers:
            new.append(m.group(0))
        elif not values & (held_numbers | said_numbers):
            invented.append(m.group(0))
    ids = _run_ids(facts, rows)
    for m in _HEX.finditer(low):
        token = m.group(0)
        if any(i.startswith(token) for i in ids) and token not in said:
            new.append(token)
    for name in _names(facts, rows):
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", low) and not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", said):
            new.append(name)
    return RemarkVerdict(remark, tuple(dict.fromkeys(new)), tuple(dict.fromkeys(invented)))


@dataclass
class RemarkTally:
    """Remarks over a question set: spoken, spoken that said nothing new, refused by the checks."""

    turns: int = 0
    spoken: list[RemarkVerdict] = field(default_factory=list)
    refused: int = 0

    def add(self, remarks: Iterable[str], answer_said: str, facts: Sequence[dict], rows: Sequence[dict] = (),
            refused: int = 0) -> None:
        self.turns += 1
        self.refused += refused
        self.spoken.extend(judge_remark(r, answer_said, facts, rows) for r in remarks)

    def as_dict(self) -> dict[str, Any]:
        return {"turns": self.turns, "remarks_spoken": len(self.spoken),
                "said_nothing_new": sum(v.said_nothing for v in self.spoken),
                "with_invented_numbers": sum(bool(v.invented) for v in self.spoken),
                "refused_by_checks": self.refused,
                "spoken_each": [{"remark": v.remark, "adds": list(v.new), "invented": list(v.invented)}
                                for v in self.spoken]}
