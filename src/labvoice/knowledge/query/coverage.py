"""Every word of a question accounted for: bound to a name, a value, a number, a time, an operator, or
known filler (the lexicon's). What is left is "unbound". An unbound word where a constraint would stand
("on the cluster ones", "the nightly runs", "except foo") and a name said but missing from the composed
query both mean the question would be answered without one of its constraints: `dropped()` says what,
and the composer answers that it cannot use it instead of answering another question.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from labvoice.knowledge.lexicon import lexicon
from labvoice.knowledge.query.extract import Slots

# Words after which a name of runs is expected ("on sst2", "using adam", "except bert").
_SLOT_BEFORE = re.compile(r"^(on|using|except|excluding|without|besides|than|isn't|aren't|not|non|named|called|"
                          r"tagged|trained on|evaluated on|tested on|with the|from the|of the|best|worst|top|"
                          r"strongest|weakest|fastest|slowest|latest|newest|oldest)$")
# Written as a product name in the question itself: CamelCase or an inner capital ("NASNetMobile", "DeiT").
_CAMEL = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b|\b[A-Z]{2,}[a-z][A-Za-z0-9]*\b")
# Nouns a name modifies ("the nightly runs", "cluster ones").
_RUN_NOUNS = {"run", "runs", "one", "ones", "model", "models", "experiment", "experiments", "job", "jobs",
              "checkpoint", "checkpoints", "dataset", "datasets", "sweep", "sweeps", "trial", "trials"}
# Contraction pieces the tokenizer leaves ("we've" -> we, ve).
_PIECES = {"s", "t", "ve", "re", "ll", "d", "m"}
# Note words: bound when the query filters on notes.
_NOTE_WORD = re.compile(r"^(diverg\w*|crash\w*|fail\w*|nan|unstable|instabilit\w*|blew|blow\w*|explod\w*|oom|broke\w*|"
                        r"problem\w*|issue\w*|wrong|note\w*|mention\w*|say\w*|flag\w*|publish\w*|paper|marked)$")
# Written like a name: joined with _ or /, or letters and digits mixed ("xlnet_base", "t5-large", "resnet101").
_NAMELIKE = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:[_/][a-z0-9]+)+(?![\w])|(?<![\w.-])[a-z]+\d+[a-z0-9]*(?:-[a-z0-9]+)*(?![\w.])")


@dataclass(frozen=True)
class Dropped:
    words: str          # what was said that no part of the query uses
    kind: str           # "unbound" (a word no name fits) or "unused" (a name the query left out)


def bound_positions(slots: Slots) -> set[int]:
    """Token positions bound to something the parser understood."""
    lex = lexicon()
    covered: set[int] = set()
    for m in slots.metrics + slots.params + slots.datasets + slots.models + slots.values:
        covered.update(range(m.start, m.end + 1))
    for num in slots.numbers:
        covered.add(num.pos)
    time_words = set(slots.time.said.split()) if slots.time else set()
    for tok in slots.tokens:
        word = tok.text
        if (word in lex.filler or tok.canon in lex.filler or word in _PIECES or word in time_words or " " in word
                or word in lex.size_words or lex.unit_said(word) is not None or tok.canon in lex.splits
                or any(tok.text == rid or rid.startswith(tok.text) for rid in slots.run_ids)
                or not re.search(r"[a-z]", word) or word in lex.speed_words):
            covered.add(tok.pos)
    return covered


def unbound(slots: Slots) -> tuple[str, ...]:
    """Content words no name, value, number, time or filler accounts for (reported for every question)."""
    covered = bound_positions(slots)
    return tuple(t.text for t in slots.tokens if t.pos not in covered)


def dropped(slots: Slots, query_json: dict, notes_used: bool, question: str = "") -> Dropped | None:
    """The first constraint the question states that the composed query does not use, if any."""
    used = json.dumps(query_json).lower()
    for m in slots.datasets + slots.models + slots.values + slots.params:
        name = (m.value if m.kind == "value" else m.name) or ""
        if name.lower() not in used and not (m.kind == "param" and any(a.lower() in used for a in m.alternatives)):
            return Dropped(" ".join(t.text for t in slots.tokens[m.start:m.end + 1]), "unused")
    covered = bound_positions(slots)
    words = [t.text for t in slots.tokens]
    for tok in slots.tokens:
        if tok.pos in covered or (notes_used and _NOTE_WORD.match(tok.text)):
            continue
        before = " ".join(words[max(0, tok.pos - 2):tok.pos])
        prev = words[tok.pos - 1] if tok.pos else ""
        after = words[tok.pos + 1:tok.pos + 3]
        slot_before = _SLOT_BEFORE.search(prev) or _SLOT_BEFORE.search(before)
        modifies_runs = bool(after) and (after[0] in _RUN_NOUNS or (len(after) > 1 and after[0] not in _RUN_NOUNS
                                                                     and tok.pos + 1 not in covered
                                                                     and after[1] in _RUN_NOUNS))
        if slot_before or modifies_runs:
            end = tok.pos + 1 if modifies_runs and after and after[0] in _RUN_NOUNS else tok.pos
            return Dropped(" ".join(words[tok.pos:end + 1]), "unbound")
    for m in _CAMEL.finditer(question):
        positions = [t.pos for t in slots.tokens if t.text in re.findall(r"[a-z0-9]+", m.group(0).lower())]
        if positions and not all(p in covered for p in positions):
            return Dropped(m.group(0), "unbound")
    for m in _NAMELIKE.finditer(slots.text):
        said = m.group(0)
        pieces = re.findall(r"[a-z0-9]+", said)
        positions = [t.pos for t in slots.tokens if t.start >= m.start() and t.start < m.end()]
        if positions and not all(p in covered for p in positions) and not re.fullmatch(r"[a-z]{1,2}\d", said) and pieces:
            return Dropped(said, "unbound")
    return None
