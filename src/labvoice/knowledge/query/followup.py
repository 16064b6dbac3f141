"""Completing a question that was asked back about: after "cifar10 or cifar100?", a reply such as
"cifar100", "the 100 one", "the large one", "training" or "the second" picks one option, and the
original question is asked again with the option's name where the ambiguous words stood.
"""
from __future__ import annotations

import re

from labvoice.knowledge.lexicon import name_tokens
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
