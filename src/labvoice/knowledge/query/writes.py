"""Which turns may write: a write (flag / unflag for publishing, undo) is only ever an imperative
request, decided here by grammar, never by a cue word alone.

A turn is a write request when, after a spoken lead-in ("okay", "please", "go ahead and", "yes,"),
its first word is the write verb itself ("flag it", "unflag those two", "please flag the best digits
run for publishing", "take it off the publishing list"), and it is not a question or a hypothetical:
no question mark, no interrogative or modal opener ("should I flag it", "would you unflag it", "did I
flag it", "what happens if I flag it", "why would I not publish these"), no subject in front of the
verb ("I should publish that one", "maybe flag it"), no negation ("don't publish that one"), and no
condition ("flag it if it beats the baseline", "unless", "when", "whether", "suppose"). Everything
else is read as a question and answered from the runs, which writes nothing.

`write_request` turns the request into a `FlagRequest`: the runs it names in this turn (ids, or a
description such as "the best digits run", parsed by the caller), or the runs of the previous answer
it refers to ("it", "those", "the second one"; `refers_back`). `needs_confirmation` says when the
write is read back first: more than one run, or runs not named in this turn.
`is_confirmation`, `is_cancel` and `is_undo` read the short turns that answer a read-back or take the
last change back; `is_write_talk` the near-misses that get "this is how to ask" instead of an answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal

from labvoice.knowledge.query.model import FlagRequest, RunQuery

WriteAction = Literal["flag", "unflag"]

# Spoken lead-ins that may come before an imperative verb (discourse markers and politeness).
_LEAD = re.compile(r"^(?:\s*(?:ok(?:ay)?|alright|all right|right|so|and|then|now|also|great|good|cool|fine|"
                   r"yes|yeah|yep|hey|labvoice|please|kindly|just|go ahead and|let's|let us|"
                   r"i want you to|i'd like you to|i would like you to)\b[\s,.!:;-]*)+")
_TRAILING_POLITE = re.compile(r"[\s,]*\b(?:please|thanks|thank you|now|for me|right now)\b[\s.!]*$")
# A clause that asks, wonders, supposes or sets a condition: a question or a hypothetical.
_QUESTION_OPENER = re.compile(
    r"^\s*(?:what|which|who|whom|whose|when|where|why|how|whether|if|suppose|imagine|assuming|"
    r"is|are|was|were|am|do|does|did|have|has|had|can|could|would|will|shall|should|may|might|must|"
    r"ought|isn't|aren't|wasn't|don't|doesn't|didn't|haven't|hasn't|can't|couldn't|wouldn't|won't|"
    r"shouldn't|mustn't|maybe|perhaps|i|we|you|they|he|she|it|that|this|there|not|never|no)\b")
_CONDITION = re.compile(r"\b(?:if|unless|whether|once|in case|provided|assuming|suppose|otherwise|or not|"
                        r"when(?:ever)?|what happens)\b")
_NEGATION = re.compile(r"\b(?:not|never|no longer|don't|do not|doesn't|nothing|none)\b")

# The imperative verbs, each with the complement that makes it about publishing where it needs one.
_PUBLISHING = r"(?:publish\w*|publication|the paper|paper|release|camera[- ]ready)"
_UNFLAG_VERBS = re.compile(
    r"^(?:un-?flag|un-?mark|un-?tag|un-?publish|de-?select)\b"
    r"|^(?:remove|clear|take|drop|delete|pull)\b(?=.*\b(?:flag|marker|mark|off|from)\b)"
    r"(?=.*\b(?:flag|marker|publish\w*|publication|paper|list)\b)")
_FLAG_VERBS = re.compile(
    rf"^(?:flag|publish)\b"
    rf"|^(?:mark|tag|select|add|put|queue|pick|choose|star)\b(?=.*\b(?:for|as|to|on|in)\b.*\b{_PUBLISHING})")
# Words around the object that only say "for publishing": dropped to leave the runs' description.
_COMPLEMENT = re.compile(
    rf"\b(?:as|for|to|on|onto|into|in|from|off|out of)\s+(?:the\s+)?(?:publish\w*|publication|paper|release)"
    rf"(?:\s+(?:list|queue|set))?\b|\b(?:as\s+)?(?:publishable|ready to publish|camera[- ]ready)\b"
    r"|\b(?:the\s+|its\s+|their\s+)?(?:publish(?:ing)?\s+)?(?:flag|marker|mark)s?\s+(?:from|off|on|of)\b"
    r"|\b(?:the\s+|its\s+|their\s+)?(?:publish(?:ing)?\s+)?(?:flag|marker)s?\b|\boff\b|\bagain\b")
_VERB_WORD = re.compile(r"^(?:un-?flag|un-?mark|un-?tag|un-?publish|de-?select|flag|publish|mark|tag|select|add|"
                        r"put|queue|pick|choose|star|remove|clear|take|drop|delete|pull)\b")
_PLURAL_REF = re.compile(r"\b(?:them|those|these|both|all of them|all three|all two|all (?:the )?(?:runs|ones)|"
                         r"the (?:two|three|four|five|six|seven|eight|nine|ten) of them|those runs|these runs|"
                         r"each of them|every one of them)\b|^(?:all|everything)$")
_SINGULAR_REF = re.compile(r"^(?:that|this)$|\b(?:it|its|that one|this one|that run|this run|the same run|that model|"
                           r"the former|the latter|the (?:first|second|third|fourth|fifth|last)(?: one| run)?)\b")
_ANY_REF = re.compile(_PLURAL_REF.pattern + "|" + _SINGULAR_REF.pattern)

_YES = re.compile(r"^\s*(?:yes|yeah|yep|yup|confirm(?:ed)?|do it|go ahead|please do)\b"
                  r"(?:[\s,.!]*(?:please|yes|do it|go ahead|confirm(?:ed)?|that's right|thanks|thank you|"
                  r"(?:un)?flag (?:it|them|those|these|both)(?: all)?|(?:un)?flag all (?:of )?them))*[\s.!]*$")
_NO = re.compile(r"^\s*(?:no|nope|cancel|never ?mind|forget it|don't|do not|stop|leave it)\b(?!.*\?)")
_UNDO = re.compile(r"^(?:undo|revert|roll ?back)\b")
# A write verb used as a verb ("flag", "publish", "flagging"), not "the publishing checklist" or "flagged runs".
_WRITE_WORD = re.compile(r"\b(?:un-?)?(?:flag|publish)\b|\b(?:un-?)?flagging\b")
# Questions about what is (or was) flagged: the runs answer those.
_LIST_OPENER = re.compile(r"^(?:which|what (?:runs?|results?|experiments?|models?)|show|list|tell me (?:which|what)|"
                          r"how many)\b")
_STATE_OPENER = re.compile(r"^(?:did|do|does|is|are|was|were|has|have|had|who|when|any)\b")
_WONDER = re.compile(r"\b(?:should|would|could|might|ought|if|suppose|whether|what happens|what if)\b")


@dataclass(frozen=True, slots=True)
class WriteIntent:
    """An imperative write request: what to do, and the words naming the runs ("" when none)."""

    action: WriteAction
    object_text: str
    plural: bool        # "those", "them", "both": every run of the previous answer
    refers: bool        # the object refers back to the previous answer


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[.!;](?=\s|$)|\n", text) if c.strip()]


def _lead_off(text: str) -> str:
    return _LEAD.sub("", text.strip(), count=1).strip()


def _imperative(clause: str) -> str | None:
    """The clause from its verb on when it is a plain imperative (see the module docstring), else None."""
    body = _lead_off(clause)
    if not body or _QUESTION_OPENER.match(body):
        return None
    if not _VERB_WORD.match(body) or _CONDITION.search(body):
        return None
    rest = body[_VERB_WORD.match(body).end():]
    negation = _NEGATION.search(rest)
    if negation and not re.search(r"\b(?:that|which|who|whose|where|with)\b", rest[:negation.start()]):
        return None           # "flag nothing", "unflag it, not the other one" (but "the runs that did not diverge")
    return _TRAILING_POLITE.sub("", body).strip(" ,")


def read_request(text: str) -> WriteIntent | None:
    """The write this turn asks for, or None when it asks none (or only asks about one)."""
    lowered = text.lower().replace("\u2019", "'")
    if "?" in lowered:
        return None
    found: WriteIntent | None = None
    for clause in _clauses(lowered):
        body = _imperative(clause)
        if body is None:
            if re.search(r"\b(?:un-?)?flag|publish", clause):
                return None          # one clause asks or wonders about a write: the turn does not write
            continue
        if _UNFLAG_VERBS.match(body):
            action: WriteAction = "unflag"
        elif _FLAG_VERBS.match(body) and not re.search(r"\bas\s+(?!publish|ready|camera)", body):
            action = "flag"     # ("flag it as broken" is not about publishing)
        else:
            continue
        if found is not None:
            return None              # two writes in one turn: too easy to get wrong, ask for one
        rest = _VERB_WORD.sub("", body, count=1)
        obj = re.sub(r"\s+", " ", _COMPLEMENT.sub(" ", rest)).strip(" ,")
        found = WriteIntent(action, obj, bool(_PLURAL_REF.search(obj)), bool(_ANY_REF.search(obj)))
    return found


def write_request(text: str, said_ids: tuple[str, ...], previous_ids: tuple[str, ...],
                  referred: Callable[[str], tuple[str, ...]], describe: Callable[[str], Any]) -> FlagRequest | None:
    """A FlagRequest when the turn is an imperative write request, else None.

    `said_ids`: run ids named in this turn; `previous_ids`: the runs of the previous answer;
    `referred(words)`: the runs of the previous answer that words like "the second one" pick out;
    `describe(words)`: the words as a question about the runs (a RunQuery when they describe runs)."""
    intent = read_request(text)
    if intent is None:
        return None
    unflag = intent.action == "unflag"
    if said_ids:
        return FlagRequest(run_ids=said_ids, unflag=unflag)
    if intent.refers:
        if not previous_ids:
            return FlagRequest(unflag=unflag, refers_back=True)
        ids = previous_ids if intent.plural else referred(intent.object_text)[:1]
        return FlagRequest(run_ids=ids, unflag=unflag, refers_back=True)
    if intent.object_text:
        parsed = describe(intent.object_text)
        if isinstance(parsed, RunQuery) and not parsed.refers_back:
            return FlagRequest(unflag=unflag, target=parsed)
    return FlagRequest(unflag=unflag)


def is_write_talk(text: str) -> bool:
    """Talk about a write that is not a request and not a question about what is flagged: advice or
    what-if questions ("should I flag it?", "what happens if I unflag it?"), conditions, wishes,
    negations, instructions hidden in other words. The answer says how to ask; nothing is written."""
    lowered = text.lower().replace("\u2019", "'")
    if not _WRITE_WORD.search(lowered) or read_request(text) is not None:
        return False
    body = _lead_off(lowered)
    if _LIST_OPENER.match(body):
        return False          # "which runs should I publish?": the flagged runs answer it
    return not (_STATE_OPENER.match(body) and not _WONDER.search(body))


def needs_confirmation(request: FlagRequest, run_count: int) -> bool:
    """Read a write back before doing it: more than one run, or runs not named in this turn."""
    return run_count > 1 or request.refers_back


def is_confirmation(text: str) -> bool:
    """"yes" (and its short variants) answering a read-back."""
    return bool(_YES.match(text.lower().replace("\u2019", "'")))


def is_cancel(text: str) -> bool:
    """"no", "cancel", "never mind" answering a read-back."""
    return bool(_NO.match(text.lower().replace("\u2019", "'")))


def is_undo(text: str) -> bool:
    """An imperative "undo that" / "undo the last change" / "revert it" (a question never undoes)."""
    lowered = text.lower().replace("\u2019", "'")
    if "?" in lowered:
        return False
    clauses = _clauses(lowered)
    if len(clauses) != 1:
        return False
    body = _lead_off(clauses[0])
    return bool(_UNDO.match(body)) and not _CONDITION.search(body) and not _NEGATION.search(body)
