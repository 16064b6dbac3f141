"""Document questions for the voice benchmark (scripts/bench.py): questions the bundled
`knowledge_base/` answers, each with the key fact its answer must show, so the benchmark times them
beside the run questions in the same run and checks what they said.

Worded for this benchmark from the documents themselves (not the document suite's questions, the
router's cues or its exemplars).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class DocBenchQuestion:
    """`keys`: each a tuple of alternatives; every key must be in the shown answer (case-insensitive)."""

    text: str
    keys: tuple[tuple[str, ...], ...]


DOC_QUESTIONS: tuple[DocBenchQuestion, ...] = (
    DocBenchQuestion("How is the data split between training and validation in our protocol?", (("25 %",),)),
    DocBenchQuestion("According to the checklist, where should the artifacts of a run be archived?",
                     (("next to the paper",),)),
    DocBenchQuestion("What is hinge loss according to the glossary?", (("margin",),)),
    DocBenchQuestion("What does the protocol say about reporting a setting with seeds?", (("two seeds",),)),
    DocBenchQuestion("How many wines are described in the dataset notes?", (("178",),)),
    DocBenchQuestion("What does the checklist say about rounding numbers?", (("never round up",),)),
    DocBenchQuestion("How does the protocol define a diverged run?", (("three times",),)),
    DocBenchQuestion("What score does a perfect model get on log loss?", (("scores 0",),)),
)


def says_key_facts(keys: Iterable[tuple[str, ...]], answer: str) -> bool:
    """Every key (one of its alternatives) is in `answer`, case-insensitive."""
    low = answer.lower()
    return all(any(alt.lower() in low for alt in alternatives) for alternatives in keys)


def doc_answered_right(question: DocBenchQuestion, display: str, sources: Sequence[dict]) -> bool:
    """A document question is answered right when the answer came from a document (it names a
    source) and shows every key fact."""
    return bool(sources) and says_key_facts(question.keys, display)


def interleave(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """a1 b1 a2 b2 ... then the rest of the longer: both kinds meet the same load through a run."""
    out: list[str] = []
    for i in range(max(len(first), len(second))):
        out.extend(seq[i] for seq in (first, second) if i < len(seq))
    return out
