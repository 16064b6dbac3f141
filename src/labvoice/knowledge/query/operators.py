"""The operators people put around names, each read from the words of a question: ordinals and the
runner-up ("the second best" skips one), exclusion ("that isn't", "other than", "except", "not on"),
the best per group ("on each dataset", "per model"), and durations with their units ("more than three
hours" against a runtime stored in seconds). The composer applies them to any filter or ranking.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.lexicon import lexicon, name_tokens
from labvoice.knowledge.query.extract import Slots
from labvoice.knowledge.query.tokens import Token
from labvoice.knowledge.query.model import Field
from labvoice.knowledge.query.numbers import ORDINALS

_ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(st|nd|rd|th)$")
_RANKING = (r"(best|worst|top|highest|lowest|largest|smallest|biggest|strongest|weakest|greatest|fastest|slowest|"
            r"quickest|longest|shortest|most|least|leading|poorest|ranked|placed|place)")
_RUNNER_UP = re.compile(r"\brunner[\s-]*ups?\b|\bnext[\s-]+best\b|\bsecond[\s-]+place\b")
_PLACED = re.compile(r"\b(?:came|come|comes|finished|placed|ranked|ranks|is|was|'s|s|who's)\s+(?:in\s+)?(?:the\s+)?"
                     r"(second|third|fourth|fifth)\b(?!\s+(?:one|run|time|try|attempt|dataset|model))")
# Words that negate the name right after them; "not" also after a verb ("that isn't", "which did not use").
_NEGATION = re.compile(r"\b(except(?: for)?|excluding|exclude|without|other than|apart from|aside from|besides|but not|"
                       r"anything but|all but|everything but|minus|save for|skip|skipping|omit|omitting|leaving aside|"
                       r"setting aside|disregarding|with the exception of|exclusive of|not|non|"
                       r"isn't|aren't|wasn't|weren't|didn't|doesn't|don't|never|no|not counting|leaving out|leave out|ignoring|ignore)\s+(?:(?:use|used|using|run|ran|"
                       r"on|with|trained|train|the|a|an|any|from|in|of|for|that|those|runs?|one|ones|models?|"
                       r"involving|include|including|dataset|datasets|data|benchmark|task|model|models|kind|type|checkpoint|number|"
                       r"where|whose|which|having|had|has|is|was|were|are|set|at)\s+){0,4}$")
_GROUP_WORDS = {"dataset": r"(datasets?|data ?sets?|benchmarks?|tasks?)",
                "model": r"(models?|model (?:kinds?|types?|famil(?:y|ies))|kinds?|types?|famil(?:y|ies)|"
                         r"architectures?|algorithms?|checkpoints?|classifiers?|backbones?|networks?|encoders?)"}


def ordinal_offset(slots: Slots) -> int:
    """How many ranked runs to skip: 1 for "the second best" and "the runner-up", 2 for "third
    highest"; 0 when no ordinal stands before a ranking word."""
    text = slots.text
    if _RUNNER_UP.search(text):
        return 1
    placed = _PLACED.search(text)
    if placed:
        return ORDINALS[placed.group(1)] - 1
    words = [t.text for t in slots.tokens]
    for i, word in enumerate(words):
        n = ORDINALS.get(word)
        if n is None and i + 1 < len(words):
            digits = re.fullmatch(r"\d{1,2}", word)
            if digits and words[i + 1] in ("st", "nd", "rd", "th"):
                n = int(word)
                i += 1
        if n is None or n < 2:
            continue
        after = " ".join(words[i + 1:i + 4])
        if re.match(rf"(?:\w+ )?{_RANKING}\b", after):
            return n - 1
    return 0


# Exclusion said after the name: "X aside", "leave X out", "X excluded", "with X left out".
_NEGATION_AFTER = re.compile(r"^\s*(?:runs?\s+|ones?\s+|models?\s+)?(?:aside|excluded|left out|not included|"
                             r"taken out|removed|out of it|out of the picture)\b")
_LEAVE_OUT = re.compile(r"\b(?:leave|leaving|take|taking|drop|dropping|throw|throwing|count|counting)\s+(?:\w+\s+){0,3}$")


def negated(text: str, tokens: list[Token], start: int, end: int | None = None) -> bool:
    """Whether the name said at tokens `start`..`end` is excluded by the words around it."""
    before = re.sub(r"[^a-z0-9']+", " ", text[:tokens[start].start][-60:]).strip() + " "
    if _NEGATION.search(" " + before):
        return True
    if end is None:
        return False
    after = text[tokens[end].stop:tokens[end].stop + 40]
    if re.match(r"^\s*(?:runs?\s+|ones?\s+)?out\b", after) and _LEAVE_OUT.search(" " + before):
        return True                                   # "leave the resnet runs out"
    return _NEGATION_AFTER.match(after) is not None


def per_group(text: str) -> Field | None:
    """The grouping of "the best run on each dataset", "per model", "for every model type"."""
    for kind, words in _GROUP_WORDS.items():
        if re.search(rf"\b(?:on|for|in|of|from|per|by|across)?\s*(?:each|every|per|all the different)\s+(?:\w+\s+)?{words}\b",
                     text) or re.search(rf"\b{words}\s+by\s+{words}\b", text):
            return Field(kind=kind)   # type: ignore[arg-type]
    return None


@dataclass(frozen=True)
class Duration:
    """A time unit said right after a number ("three hours"): seconds per unit said."""

    unit_seconds: float
    unit_pos: int


def duration_after(slots: Slots, num_pos: int) -> Duration | None:
    """The time unit said right after the number at `num_pos`."""
    if num_pos + 1 >= len(slots.tokens):
        return None
    word = slots.tokens[num_pos + 1].text
    unit = lexicon().unit_said(word)
    if unit is None or (len(word) == 1 and word != "h"):
        return None
    return Duration(unit.seconds, num_pos + 1)


def time_metric(catalog: Catalog) -> str | None:
    """The metric a bare duration or speed word is about: a time metric, the training one first
    (`train_runtime`, `mean_fit_time`), then the most recorded."""
    timed = [m for m in catalog.metric_names if lexicon().metric_unit(m) is not None]
    if not timed:
        return None
    trained = [m for m in timed if "train" in name_tokens(m)]
    return (trained or timed)[0]


def in_metric_unit(metric: str, seconds: float) -> float:
    """`seconds` in the unit `metric` is stored in (seconds when its name says none)."""
    unit = lexicon().metric_unit(metric) or lexicon().unit(lexicon().default_time_unit)
    return seconds / unit.seconds
