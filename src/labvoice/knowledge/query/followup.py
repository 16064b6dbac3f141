"""Completing a question that was asked back about: after "cifar10 or cifar100?", a reply such as
"cifar100", "the 100 one", "the large one", "training" or "the second" picks one option, and the
original question is asked again with the option's name where the ambiguous words stood. And correcting
the last question: "no, I said cifar 100" asks it again with that name where the wrong one stood.
"""
from __future__ import annotations

import re

from labvoice.knowledge.lexicon import name_tokens
from labvoice.knowledge.query.extract import Slots
from labvoice.knowledge.query.tokens import canon
from labvoice.knowledge.query.model import Clarify
from labvoice.knowledge.query.names import forms
from labvoice.knowledge.query.numbers import ORDINALS, words_to_numbers

MAX_REPLY_WORDS = 8   # a longer utterance is a new question, not an answer to ours


def chosen(pending: Clarify, reply: str) -> str | None:
    """The option the reply picks, or None when it picks none (or several)."""
    text = words_to_numbers(reply.lower())
    words = re.findall(r"[a-z0-9]+", text)
    if not words or len(words) > MAX_REPLY_WORDS:
        return None
    options = pending.options
    compact = {"".join(words[i:i + n]) for n in range(1, 5) for i in range(len(words) - n + 1)}
    exact = [o for o in options if forms(o).full in compact or forms(o).specific in compact]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:   # "cifar100" contains "cifar10"'s words too: the longest wins
        longest = max(exact, key=lambda o: len(forms(o).full))
        if sum(len(forms(o).full) == len(forms(longest).full) for o in exact) == 1:
            return longest
    for word in words:
        n = ORDINALS.get(word)
        if n is not None and 1 <= n <= len(options):
            return options[n - 1]
    said = {canon(w) for w in words} | set(words)
    tokens = {o: set(name_tokens(o)) | set(re.findall(r"[a-z]+|\d+", forms(o).full)) for o in options}
    common = set.intersection(*tokens.values()) if tokens else set()
    distinct = [o for o in options if (tokens[o] - common) & said]
    if len(distinct) == 1:
        return distinct[0]
    digits = [w for w in words if w.isdigit()]
    if digits:
        ends = [o for o in options if forms(o).specific.endswith(digits[-1]) and
                not re.search(rf"\d{digits[-1]}$", forms(o).specific)]
        if len(ends) == 1:
            return ends[0]
    return None


def complete(pending: Clarify, reply: str) -> str | None:
    """The pending question with the chosen option's name in place of the words that fit several; None
    when the reply picks no option (it is then a new question)."""
    option = chosen(pending, reply)
    if option is None:
        return None
    pattern = r"(?<![a-z0-9])" + r"[\W_]*".join(re.escape(w) for w in pending.said.split()) + r"(?![a-z0-9])"
    question, n = re.subn(pattern, option, pending.question, count=1, flags=re.IGNORECASE)
    return question if n else f"{pending.question.rstrip(' ?.!')} ({option})?"


# "no, I said cifar 100", "I meant the large roberta": the last question was heard or read with a wrong
# name; the reply says the right one. Only the reply's opening words are fixed: the name is whatever follows.
_CORRECTION = re.compile(r"^\W*(?:(?:no|nope|wrong|not that(?: one)?|sorry)\b\W*)?(?:i|we)\s+(?:said|meant|mean|"
                         r"asked(?: about)?|was asking(?: about)?|wanted)\s+(?P<said>.+?)\W*$")


# Words a correction may say beside the names ("the cifar 100 one, not cifar 10"); any other word makes
# the reply a new question ("I mean, how many runs are on mnist?" is not a correction).
_BESIDE_NAMES = frozenset("a an the on one ones run runs model models dataset data set metric not no and "
                          "please it was that this is of for with i said meant".split())


def correction(reply: str) -> str | None:
    """The words a correction says were meant ("cifar 100" in "no, I said cifar 100"), or None."""
    match = _CORRECTION.match(reply.lower())
    if match is None or len(match.group("said").split()) > MAX_REPLY_WORDS:
        return None
    return match.group("said")


def corrected(previous: Slots, said: Slots) -> str | None:
    """The previous question (as normalised in `previous`) with each name of `said` put where the
    previous question named another of the same kind; None when `said` names nothing. A kind the
    previous question did not name is added at the end, so the coverage check still sees every word."""
    kinds = ("dataset", "model", "metric", "param")
    named = {p for group in (said.datasets, said.models, said.metrics, said.params)
             for m in group for p in range(m.start, m.end + 1)}
    if any(t.pos not in named and t.text not in _BESIDE_NAMES for t in said.tokens):
        return None
    old = dict(zip(kinds, (previous.datasets, previous.models, previous.metrics, previous.params)))
    new = dict(zip(kinds, (said.datasets, said.models, said.metrics, said.params)))
    edits: list[tuple[int, int, str]] = []
    added: list[str] = []
    for kind in kinds:
        for mention in new[kind]:
            words = said.text[said.tokens[mention.start].start:said.tokens[mention.end].stop]
            others = [m for m in old[kind] if m.name != mention.name]
            if len(others) == 1:
                m = others[0]
                edits.append((previous.tokens[m.start].start, previous.tokens[m.end].stop, words))
            elif not old[kind]:
                added.append(words)
    if not edits and not added:
        return None if not any(new.values()) else previous.text
    text = previous.text
    for start, stop, words in sorted(edits, reverse=True):
        text = text[:start] + words + text[stop:]
    if added:
        text = f"{text.rstrip(' ?.!')} ({', '.join(added)})?"
    return text
