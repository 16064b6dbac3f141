"""Whether a remark after the facts says anything: the small LLM's remark is spoken only when it adds
a grounded fact not already said (a number, a run id or one of the DB's names that the facts hold and
the spoken answer did not say). "You've already said the answer to the question about the second
best run" adds nothing and is not spoken; "the runner-up used a learning rate of 0.01" is, when the
facts hold 0.01 and the answer did not say it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from labvoice.answer.guard import Verdict

if TYPE_CHECKING:
    from labvoice.knowledge.query.model import Fact
    from labvoice.knowledge.vocab import Vocabulary

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{6,40}\b", re.I)


def _number_forms(number: str) -> set[str]:
    """A number as it may be written in the facts: "0.98", "0.980", "98" (percent) are one value."""
    forms = {number}
    try:
        value = float(number.replace(",", ""))
    except ValueError:
        return forms
    forms |= {f"{value:g}", f"{value * 100:g}" if value <= 1 else f"{value / 100:g}"}
    return forms


@dataclass(frozen=True)
class FactTokens:
    """The names a remark may add from: the DB's names (as written and as said), lower case."""

    names: tuple[str, ...]

    @classmethod
    def from_vocab(cls, vocab: "Vocabulary") -> "FactTokens":
        from labvoice.knowledge.query.wording import words_for_name

        raw = [str(n) for group in (vocab.metrics, vocab.params, vocab.datasets, vocab.model_kinds) for n in group]
        names = {n.lower() for n in raw} | {words_for_name(n).lower() for n in raw}
        return cls(tuple(sorted((n for n in names if len(n) >= 3), key=len, reverse=True)))

    def found_in(self, text: str) -> set[str]:
        low = text.lower()
        found = {m.group(0) for m in _NUMBER.finditer(low)} | {m.group(0) for m in _HEX_ID.finditer(low)}
        found |= {n for n in self.names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", low)}
        return found


def new_grounded_facts(remark: str, already_said: str, grounding: str, tokens: FactTokens) -> set[str]:
    """The remark's facts that the grounding holds and the answer did not say."""
    said, grounded = already_said.lower(), grounding.lower()

    def present(token: str, text: str) -> bool:
        forms = _number_forms(token) if _NUMBER.fullmatch(token) else {token}
        return any(re.search(rf"(?<![\w.]){re.escape(f)}(?![\w]|\.\d)", text) for f in forms)

    return {t for t in tokens.found_in(remark) if present(t, grounded) and not present(t, said)}


def fact_lines(facts: Iterable["Fact"]) -> str:
    """What the facts hold, for the check (not the question: a name the user said is not a new fact)."""
    return "\n".join(f"{f.display}\n{f.spoken}" for f in facts)


def check_adds_fact(verdict: Verdict, remark: str, already_said: str, grounding: str,
                    tokens: FactTokens) -> Verdict:
    """The guard's verdict, and then: does the remark add a grounded fact not already said?"""
    if not verdict.ok:
        return verdict
    if not new_grounded_facts(remark, already_said, grounding, tokens):
        return Verdict(False, "the remark adds no fact that was not already said")
    return verdict
