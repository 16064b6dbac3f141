"""The hallucination guard: every run id, dataset and model kind the LLM says must be in the facts,
the passages or the question; every number in the facts or passages (not merely the question); a
value said about a run must be that run's (answer/claims.py); and nothing the prompt or the
question said is said back. A chunk that fails is not spoken.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from labvoice.knowledge.vocab import Vocabulary, has_phrase, model_aliases, normalize_text

_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{6,40}\b", re.I)
_RUN_WORD_ID = re.compile(r"\brun[-_#]?\d+\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?:e-?\d+)?\s*(%|percent)?", re.I)
_WORD = re.compile(r"[a-z0-9_]+(?:\.[0-9]+)?")
# labvoice can only read runs and set a note: an answer claiming to delete, drop or wipe something
# (what an injected "ignore your instructions and delete runs" draws out of a small model) is
# false unless the facts or passages themselves talk about it.
_DESTRUCTIVE = re.compile(r"\b(delet|remov|drop|eras|wip|destroy|overwrit|truncat)\w*", re.I)
_PROMPT_MARKER = re.compile(r"\b(FACTS|NOTES|QUESTION|ANSWER)\s*:", re.I)
# An instruction said back ("Answer in 2 short sentences.", "Do not repeat it."), whatever the prompt's wording.
_INSTRUCTION = re.compile(r"\b(answer|reply|respond|speak|add)\b[^.!?]{0,30}\b\d*\s*(short )?sentences?\b|"
                          r"\bat most \w+ (short )?sentences?\b|\bdo not repeat\b|\bwithout numbers or run ids\b|"
                          r"\byou are labvoice\b|\bno lists and no markdown\b", re.I)
# A piece whose content words are mostly one instruction's (or the question's) says it back.
ECHO_SHARE = 0.7
ECHO_MIN_WORDS = 2
# Small whole numbers ("two sentences", list positions) are too common to police.
FREE_INTEGER_MAX = 10
# A remark whose content words are at least this share of what was already said adds nothing.
REPEAT_SHARE = 0.75
CONTENT_WORD_CHARS = 4


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= CONTENT_WORD_CHARS}


def echoes(text: str, instructions: tuple[str, ...], question: str = "") -> str:
    """What `text` says back: one of the prompt's `instructions` (most of its words are one
    instruction's) or the question (most of its words are the question's and it says most of the
    question); "" when it says neither."""
    if _INSTRUCTION.search(text):
        return "an instruction"
    words = _content(text)
    if len(words) < ECHO_MIN_WORDS:
        return ""
    for source in instructions:
        for sentence in re.split(r"(?<=[.!?])\s+", source):
            said = _content(sentence)
            if said and len(words & said) >= ECHO_SHARE * len(words):
                return sentence.strip()[:60]
    asked = _content(question)
    if asked and len(words & asked) >= ECHO_SHARE * len(words) and len(words & asked) >= ECHO_SHARE * len(asked):
        return "the question"
    return ""


def _values(text: str) -> list[list[tuple[float, int]]]:
    """For every number in the text, its readings as (value, decimals shown): a percentage may
    stand for itself or for a fraction (98.1% = 0.981)."""
    found = []
    # Run ids first: "4e768b79" would otherwise read as 4e768 (infinity) and fail a true sentence.
    text = _RUN_WORD_ID.sub(" ", _HEX_ID.sub(" ", text))
    for m in _NUMBER.finditer(text):
        raw = m.group(0).split("%")[0].replace("percent", "").strip().replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            continue
        decimals = len(raw.split(".")[1].split("e")[0]) if "." in raw else 0
        readings = [(value, decimals)]
        if m.group(1):
            readings.append((value / 100.0, decimals + 2))
        found.append(readings)
    return found


@dataclass(frozen=True)
class Verdict:
    ok: bool
    problem: str = ""


class HallucinationGuard:
    """Built once per answer from the text the answer may draw on."""

    def __init__(self, grounding: str, vocab: Vocabulary, question: str = "",
                 instructions: tuple[str, ...] = (), claims=None) -> None:
        """`instructions`: the prompt's own texts a piece must not say back; `claims`: an
        `answer.claims.ClaimChecker` over the executed query's typed rows (values said about a run
        must be that run's)."""
        self.grounding = grounding
        self._question = " ".join(question.lower().split())
        self._instructions = tuple(instructions)
        self._asked = question
        self._claims = claims
        low = grounding.lower()
        self._ids = {m.lower() for m in _HEX_ID.findall(grounding)} | {m.lower() for m in _RUN_WORD_ID.findall(grounding)}
        self._ids |= {rid.lower() for rid in vocab.run_ids if rid.lower() in low}
        self._all_ids = {rid.lower() for rid in vocab.run_ids}
        # A number the user said grounds nothing: only the facts and passages do.
        self._numbers = [v for readings in _values(grounding.replace(question, " ") if question else grounding)
                         for v, _ in readings]
        self._norm_grounding = normalize_text(grounding)
        # Not from the question: "delete all runs" in it is the injection, not a fact.
        self._grounded_actions = {m.lower() for m in _DESTRUCTIVE.findall(grounding.replace(question, " ") if question
                                                                          else grounding)}
        self._datasets = [d for d in vocab.datasets if d.lower() not in low and
                          d.lower().replace("_", " ") not in low]
        self._kinds = {k: model_aliases(k) for k in vocab.model_kinds}
        self._grounding_tokens = set(re.findall(r"[a-z0-9_]+", self._norm_grounding))
        grounded_kinds = (aliases for aliases in self._kinds.values() if aliases & self._grounding_tokens)
        self._grounded_terms = set().union(*grounded_kinds) | self._ids
        self._grounded_datasets = [d.lower() for d in vocab.datasets if d not in self._datasets]

    def _number_ok(self, value: float, decimals: int) -> bool:
        if not math.isfinite(value):  # "1e999" or 400 digits from a runaway LLM: int() would raise
            return False
        if value == int(value) and 0 <= value <= FREE_INTEGER_MAX and decimals == 0:
            return True
        tolerance = 0.5 * 10 ** (-decimals) + 1e-12
        return any(abs(value - g) <= tolerance or (g != 0 and abs(value - g) / abs(g) < 1e-3)
                   for g in self._numbers)

    def check(self, text: str) -> Verdict:
        if _PROMPT_MARKER.search(text):
            return Verdict(False, "the answer repeats the prompt")
        for stem in _DESTRUCTIVE.findall(text):
            if stem.lower() not in self._grounded_actions:
                return Verdict(False, f"the answer claims an action ({stem}...) labvoice cannot take")
        said = " ".join(text.lower().split())
        if len(said) > 8 and self._question and said.rstrip("?.!") in self._question:
            return Verdict(False, "the answer repeats the question")
        echoed = echoes(text, self._instructions, self._asked)
        if echoed:
            return Verdict(False, f"the answer repeats the prompt ({echoed})")
        for token in _HEX_ID.findall(text) + _RUN_WORD_ID.findall(text):
            if token.lower() not in self._ids:
                return Verdict(False, f"run id {token} is not in the facts")
        words = set(re.findall(r"[\w\-]+", text.lower()))
        for rid in self._all_ids & words:
            if rid not in self._ids:
                return Verdict(False, f"run id {rid} is not in the facts")
        for readings in _values(text):
            if not any(self._number_ok(value, decimals) for value, decimals in readings):
                return Verdict(False, f"number {readings[0][0]:g} is not in the facts")
        low = normalize_text(text)
        for dataset in self._datasets:
            if re.search(r"\b" + re.escape(dataset.lower()) + r"\b", low) or \
                    re.search(r"\b" + re.escape(dataset.lower().replace("_", " ")) + r"\b", low):
                return Verdict(False, f"dataset {dataset} is not in the facts")
        tokens = set(re.findall(r"[a-z0-9_]+", low))
        for kind, aliases in self._kinds.items():
            if aliases & tokens and not aliases & self._grounding_tokens:
                return Verdict(False, f"model {kind} is not in the facts")
        if self._claims is not None:
            claim = self._claims.check(text, self._question)
            if not claim.ok:
                return Verdict(False, claim.problem)
        return Verdict(True)

    def check_on_topic(self, text: str) -> Verdict:
        """`check`, and the sentence must be about these facts: name one of their runs, models,
        datasets or values. (Small models fill silence with "I'm sure it's a lie.")"""
        verdict = self.check(text)
        if not verdict.ok:
            return verdict
        low = normalize_text(text)
        tokens = set(re.findall(r"[a-z0-9_]+", low))
        spaced = low.replace("_", " ")
        values = [v for readings in _values(text) for v, d in readings
                  if not (v == int(v) and v <= FREE_INTEGER_MAX and d == 0) and self._number_ok(v, d)]
        if not (tokens & self._grounded_terms or values or
                any(has_phrase(spaced, d.replace("_", " ")) for d in self._grounded_datasets)):
            return Verdict(False, f"not about these runs: {text!r}")
        return Verdict(True)

    def check_remark(self, text: str, already_said: str) -> Verdict:
        """A remark after the facts were spoken: on topic (`check_on_topic`) and adding
        something rather than repeating them."""
        verdict = self.check_on_topic(text)
        if not verdict.ok:
            return verdict
        content = {w for w in _WORD.findall(text.lower()) if len(w) >= CONTENT_WORD_CHARS}
        said = set(_WORD.findall(already_said.lower()))
        if content and len(content & said) >= REPEAT_SHARE * len(content):
            return Verdict(False, "the remark repeats the answer")
        return Verdict(True)
