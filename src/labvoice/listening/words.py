"""The words so far, read for whether the turn is over: a sentence that stops mid-phrase
(`ends_unfinished`: English word rules, as data below) or words Whisper was unsure of
(`unsure_words`) do not end a turn, whatever the turn model heard."""
from __future__ import annotations

import math

from labvoice.stt.base import Heard

# Words a finished sentence does not end on: articles, possessives, conjunctions, prepositions
# ("which run had the best ... on", "compare it with the", "more than"). A question that ends on a
# stranded preposition ("which dataset was it trained on") only waits for the fallback silence:
# slower, never cut.
UNFINISHED_WORDS = frozenset("""
a an the my your our their its every
and or but nor than
of to in on at for with by from into onto about between among
above below under across through against within without towards toward per via
very whether
""".split())
# A determiner and a modifier with no noun yet ("which run had the best | validation accuracy",
# "compare the two best | svm runs"): the noun phrase is still open. ("Which run was the best?" is
# finished, and waits for the fallback silence.)
DETERMINERS = frozenset("the a an my your our their its this that these those".split())
NOUN_MODIFIERS = frozenset("""
best worst most least last first latest earliest newest oldest next previous same other top bottom
highest lowest largest smallest biggest longest shortest fastest slowest greatest second third
higher lower larger smaller bigger longer shorter faster slower greater better worse fewer
average mean median total overall final maximum minimum
""".split())
NUMBER_WORDS = frozenset("two three four five six seven eight nine ten".split())
# A wh-question that ends on an auxiliary is still waiting for its verb or its subject ("what
# learning rate did | the best forest use"). Outside questions a clause may end on one ("tell me
# what the learning rate was"), so only questions that begin with a wh-word are judged by it.
WH_WORDS = frozenset("what which who whom whose when where why how".split())
AUXILIARIES = frozenset("""
do does did is are was were has have had can could will would shall should may might must
""".split())
# A relative clause just opened ("are there any runs that | crashed"): "that", "which" or "whose"
# after a noun. After a verb or a preposition the same word is a finished object ("why is that?",
# "who did that?", "what about that?").
RELATIVE_WORDS = frozenset("that which whose".split())
# An active verb that wants what comes after it, with nothing after it yet: "which experiments on
# iris reached | a validation accuracy above ...", "which runs on wine took | longer". (After a
# form of "be" or "get" it is passive and finished: "which learning rate was used?". A bare form
# after "did" is finished too: "what did the best run use?", so only past forms are listed.)
NEEDS_MORE = frozenset("""
reached beat took used gave got had achieved scored needed made exceeded outperformed produced
contained required yielded performed showed included compared trained
""".split())
PASSIVE_MARKERS = frozenset("is are was were be been being get gets got".split())
# An embedded question just opened after who it is for: "tell us what | the top score was", "show me
# which | of them crashed". A lone "what?" or "guess what?" is finished, and "tell me why" or "show me how" may
# be, so only these two words after an object pronoun are judged by it.
EMBEDDED_OPENERS = frozenset("what which".split())
# "how long did it | take": after how, why, when or where, "did" can only be the auxiliary, so a question
# that ends on its subject pronoun is still waiting for its verb. ("Who did it?" is finished: who is the
# subject and "did" the verb; "which run did that?" too.)
NOT_SUBJECT_WH = frozenset("how why when where".split())
DO_FORMS = frozenset("do does did".split())
SUBJECT_PRONOUNS = frozenset("i you we they he she it this that these those".split())
OBJECT_PRONOUNS = frozenset("me us him her them".split())
TAKES_AN_OBJECT = AUXILIARIES | frozenset("about like than know think mean say said see tell".split())


TRAILING_OFF = ("...", "\u2026", "-", "\u2014", ",", ";", ":")   # how Whisper writes speech that stops mid-phrase
SENTENCE_END = ".?!"


def _words(text: str) -> list[str]:
    words = [w.strip(".,;:!?\"'()\u2026-").lower() for w in text.split()]
    return [w for w in words if w]


def ends_unfinished(transcript: str | None) -> bool:
    """The words stop mid-phrase, judged from Whisper's own punctuation (it punctuates with the
    sentence prompt of stt.faster_whisper.hint_prompt) and from grammar that holds in any sentence:
    - Whisper wrote "..." or "-" where the speech trails off, or no full stop, question or
      exclamation mark at the end (a transcriber that never punctuates only makes every turn wait
      for the fallback silence: slower, never cut);
    - Whisper said the same sentence twice ("Which runs work. Which runs work."): its decoder
      loops on speech that stops mid-word, so the words cannot be trusted to be finished;
    - the last word cannot end a sentence ("... on the", "... more than");
    - a noun phrase is open: a determiner, then only modifiers ("the best", "the two best");
    - a wh-question ends on an auxiliary ("what learning rate did?");
    - a relative clause has just opened ("any runs that?");
    - an active verb still wants its object ("which experiments reached?", not "which rate was used?");
    - an embedded question has just opened after an object pronoun ("tell us what?");
    - a how/why/when/where question ends on "did" and its subject, before the verb ("why did it?");
    - nothing was heard as words at all (""): the speech so far is not known to be a sentence.
    None (no transcript made) is not unfinished: the turn model decides alone."""
    if transcript is None:
        return False
    text = transcript.strip().rstrip("\"')]")
    if not text:
        return True
    if text.endswith(TRAILING_OFF) or text[-1] not in SENTENCE_END:
        return True
    words = _words(text)
    if not words or _repeats_itself(words):
        return True
    if words[-1] in UNFINISHED_WORDS or _open_noun_phrase(words):
        return True
    if len(words) > 2 and words[-1] in RELATIVE_WORDS and words[-2] not in TAKES_AN_OBJECT | UNFINISHED_WORDS:
        return True
    if len(words) > 2 and words[-1] in NEEDS_MORE and words[-2] not in PASSIVE_MARKERS:
        return True
    if len(words) > 2 and words[-1] in EMBEDDED_OPENERS and words[-2] in OBJECT_PRONOUNS:
        return True
    if words[0] in NOT_SUBJECT_WH and len(words) > 2 and words[-2] in DO_FORMS and words[-1] in SUBJECT_PRONOUNS:
        return True
    return words[0] in WH_WORDS and words[-1] in AUXILIARIES and len(words) > 2


def _repeats_itself(words: list[str]) -> bool:
    half = len(words) // 2
    return len(words) % 2 == 0 and half >= 2 and words[:half] == words[half:]


def _open_noun_phrase(words: list[str]) -> bool:
    """... a determiner, then only modifiers and numbers, ending on a modifier ("the two best")."""
    if words[-1] not in NOUN_MODIFIERS:
        return False
    for i in range(len(words) - 2, max(-1, len(words) - 5), -1):
        if words[i] in DETERMINERS:
            return all(w in NOUN_MODIFIERS or w.isdigit() or w in NUMBER_WORDS for w in words[i + 1:])
    return False


# Whisper's certainty (average log-probability of the least sure segment) below which the words so
# far do not end a turn: tiny.en guessing at a cut-off last word ("which model performance?") is
# less sure (-0.4 to -0.6 measured) than of a whole question (-0.03 to -0.33). Such a turn waits for
# the fallback silence: slower, never cut.
UNSURE_LOGPROB = -0.4
# How sure the decoder was of the words' last word and final mark (`Heard.ending_certainty`), below which they
# do not end a turn either: half a question stopped in a pause is often written as a finished one ("Is there
# a run with that?"), with an unsure last word or end. Below 0.45 in 24 of 46 such halves that read as
# finished, and in 1 of 63 whole questions (Piper; 0.5 would take 34 and 2: stt/whisper_beam.py's
# `ending_logprob`, docs/listening_voices.md). A whole question it holds waits for the fallback silence.
UNSURE_ENDING_LOGPROB = math.log(0.45)


def unsure_words(transcript: Heard | None) -> bool:
    if transcript is None:
        return False
    if transcript.ending_certainty is not None and transcript.ending_certainty < UNSURE_ENDING_LOGPROB:
        return True
    return transcript.certainty is not None and transcript.certainty < UNSURE_LOGPROB


def words_unfinished(transcript: Heard | None) -> bool:
    """The words so far do not end the turn: they read as unfinished, or Whisper was unsure of them."""
    return ends_unfinished(transcript.ending if transcript is not None else None) or unsure_words(transcript)
