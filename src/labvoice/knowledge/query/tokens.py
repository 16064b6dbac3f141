"""Words of a question as tokens: lower case, each with its canonical form from the lexicon, lexicon
phrases ("learning rate", "ran out of memory") merged into one token, and where each was said.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labvoice.knowledge.lexicon import lexicon, merge_phrases

SPLITS = ("val", "test", "train")
SPLIT_PREFERENCE = {"val": 0, "test": 1, "": 2, "train": 3}
_WORD = re.compile(r"(?:\d+(?:\.\d+)?|(?<![\w.])\.\d+)(?:e-?\d+)?%?|[a-z0-9]+(?:\.[0-9]+)?%?|[<>]=?|=")


def canon(word: str) -> str:
    return lexicon().canon(word)


@dataclass(frozen=True)
class Token:
    text: str      # as written (lower case)
    canon: str
    pos: int       # index in the token list
    start: int     # character offset in the normalised text
    stop: int = 0  # character offset just after it


def tokenize(text: str) -> list[Token]:
    raw = [(m.group(0), m.start()) for m in _WORD.finditer(text)]
    tokens: list[Token] = []
    for tok, first, last in merge_phrases([w for w, _ in raw]):
        said = " ".join(w for w, _ in raw[first:last + 1])
        tokens.append(Token(said, tok if last > first else canon(raw[first][0]), len(tokens), raw[first][1],
                            raw[last][1] + len(raw[last][0])))
    return tokens
