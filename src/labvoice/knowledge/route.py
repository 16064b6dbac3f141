"""Routing a question by meaning: about the runs, about the documents, both, or small talk.

The run-question parser (knowledge/query/) reads every question as a run query when it can: "what
does macro F1 mean?" names a metric, so it becomes the average F1. This module decides, from three
signals, whether the question is really about the documents:
- the documents' own vocabulary (headings, defined terms: doc_search.DocumentVocabulary), and a
  short list of words that name documents or what they define ("checklist", "split", "handbook");
- the question's meaning: MiniLM similarity to exemplars of document questions (what a term means,
  how something is done, what a rule says) against exemplars of run questions;
- what the parser made of it (a run query with facts, small talk, nothing).
A run query with facts stays a run answer unless the question's words are clearly about a document
term (a term the DB does not name, or a DB name asked about as a definition); "both" is a run
question measured against a document's rule ("is the best run good enough by the checklist?").
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from labvoice.knowledge.doc_search import DocumentVocabulary, words
from labvoice.knowledge.query.model import Clarify, DocumentQuestion, FlagRequest, RunQuery, SmallTalk

Route = Literal["runs", "documents", "both", "small_talk"]
CHAT_KINDS = ("greeting", "joke", "capabilities", "thanks", "goodbye")
MEANING_MARGIN = 0.02     # document exemplars must beat run exemplars by this much to count as a cue
MEANING_ALONE = 0.1       # with no document word at all, the meaning must be this clear
UNKNOWN_STEM = 5          # ... and, to call a word unknown to every document, fewer ("rounded", "round")
STEM = 6                  # words are compared on their first letters ("diverged" and "divergence")
UNEXPLAINED_ALONE = 2     # this many words only the documents explain send a run query to them
STRONG_MARGIN = 0.12      # ... by this much, the meaning alone sends a run query to the documents

# Words that name a document or what lab documents define; written for this module, not copied
# from any test question.
DOCUMENT_NAMES = frozenset(words(
    "handbook manual guide guideline policy protocol checklist glossary documentation docs document wiki readme "
    "notes convention rule procedure definition description"))
DOCUMENT_WORDS = DOCUMENT_NAMES | frozenset(words(
    "macro micro split stratified stratify holdout held-out "
    "early stopping overfitting underfitting overfit regularisation regularization leakage imbalance "
    "cross-entropy hinge precision recall baseline seed cultivar attribute feature instance donor creator "
    "citation reference quote archive diverge divergence tie-breaker benchmark smoke image pixel sample "
    "class author"))
# Phrases that ask what a document says, whatever the topic.
_ASKS_DOCUMENT = re.compile(
    r"\b(mean|means|meaning|stand for|stands for|defin\w*|explain\w*|according to|(?:do|does|did) (?:the |our |my )?"
    r"(?:\w+ ){0,2}(?:say|says|recommend|require)|what (?:are|is) the (?:rules?|steps?|policy|procedure)|"
    r"how (?:is|are|do|does|should) (?:we|i|you|the|a|it)\b.*\b(?:made|done|computed|calculated|chosen|"
    r"handled|split|measured|defined|picked|set)|what should (?:i|we)|before (?:we |i )?(?:publish|report|quote)|"
    r"why (?:do|does|is|are|should) |who (?:created|made|collected|donated|wrote)|where (?:does|did|do) .* come from)",
    re.I)
# Words of headings that say nothing about a topic by themselves.
GENERIC_WORDS = frozenset(words("run runs every must log compare metric metrics model models dataset datasets data "
                                "set note notes value values result results training validation test score"))
# A run picked by rank ("the best MLP on digits", "our top wine run"), when the parser found it.
_PICKED = re.compile(r"\b(?:best|worst|top|latest|newest|highest|lowest)\b", re.I)
# A run measured against a document's rule: whether it is good enough, meets, passes, may be published.
_JUDGES = re.compile(r"\b(?:good enough|meets?|pass(?:es)?|satisf\w*|ready|allowed|allow|fit|qualif\w*|"
                     r"complies|comply|publish\w*|quote[ds]?)\b", re.I)
# The document part of a "both" question, left out when the run part is parsed again.
_DOCUMENT_CLAUSE = re.compile(
    r"\b(?:(?:by|according to|under|per|in|against|following|with) )?(?:the |our |my )?(?:publishing |evaluation )?"
    r"(?:checklist|protocol|handbook|guide|guidelines?|policy|rules?)\b|\b(?:good enough |ready )?(?:(?:to )?be |to )?"
    r"(?:publish\w*|quoted?)\b|\bfor (?:a|the) paper\b", re.I)
_RUN_SELECTION = re.compile(r"\b(best|worst|top|latest|last|newest|our|my|this|that|which) (?:\w+ ){0,3}runs?\b",
                            re.I)

DOCUMENT_EXEMPLARS = (
    "what does this term mean", "define this metric for me", "explain the meaning of that score",
    "how do we make the train and validation data", "what is our rule for reporting results",
    "what do our notes say about this", "what steps come before sharing a result",
    "where does this data set come from and who made it", "how many classes and attributes does the data have",
    "why do we compare losses instead of accuracy", "when should I stop training according to the guide",
    "what is the policy on random seeds", "what is the definition of this loss",
    "describe the data set", "what does the documentation recommend",
)
_RUN_EXTRA = ("run runs experiment experiments trained training model models best worst top highest lowest average "
              "mean median many count number compare latest recent first last show list which what score one two "
              "three four five six seven eight nine ten hundred thousand")
RUN_EXEMPLARS = (
    "which run has the highest score", "how many runs did I train", "average score per model",
    "show me the latest runs", "what learning rate did the best run use", "compare the two models on this data",
    "list the runs with score above a number", "which model did best on the data set", "the worst run last week",
    "what was the loss of that run", "how long did the runs take",
)


def _run_words() -> frozenset[str]:
    """Words the run-question parser reads as the shape of a run query (its own exemplars)."""
    from labvoice.knowledge.query.shapes import EXEMPLARS

    texts = [t for group in EXEMPLARS.values() for t in group] + list(RUN_EXEMPLARS) + [_RUN_EXTRA]
    return frozenset(w for t in texts for w in words(t))


RUN_WORDS = _run_words()


@dataclass(frozen=True)
class RouteDecision:
    """Where a question goes and why; `terms` are the document terms it names, `margin` the
    document exemplars' similarity minus the run exemplars'."""

    route: Route
    reason: str
    terms: tuple[str, ...] = ()
    margin: float = 0.0
    unexplained: tuple[str, ...] = ()    # words neither the DB nor a run query explains, that the documents hold
    unknown: tuple[str, ...] = ()        # words of the question that no document has at all ("BLEU")
    document_question: str = ""          # "both": the question without the run's names (what the documents are asked)


class _Exemplars:
    def __init__(self, embedder: Any) -> None:
        self.docs = embedder.embed(list(DOCUMENT_EXEMPLARS))
        self.runs = embedder.embed(list(RUN_EXEMPLARS))

    def margin(self, vector: np.ndarray) -> float:
        return float(np.max(self.docs @ vector) - np.max(self.runs @ vector))


_EXEMPLARS: dict[int, _Exemplars] = {}
_LOCK = threading.Lock()


def _exemplars(embedder: Any) -> _Exemplars:
    with _LOCK:
        exemplars = _EXEMPLARS.get(id(embedder))
        if exemplars is None:
            exemplars = _EXEMPLARS[id(embedder)] = _Exemplars(embedder)
        return exemplars


def warm(embedder: Any | None) -> None:
    """Embed the exemplars now, not during the first question that needs them."""
    if embedder is not None:
        _exemplars(embedder)


def meaning_margin(embedder: Any | None, vector: np.ndarray | None) -> float:
    """How much more the question is like a document question than a run question (0 without an embedder)."""
    if embedder is None or vector is None:
        return 0.0
    return _exemplars(embedder).margin(vector)


def document_terms(question: str, vocabulary: DocumentVocabulary | None, db_words: frozenset[str]) -> tuple[str, ...]:
    """The document terms the question names that the run DB does not: phrases of the documents'
    vocabulary, and document words (a DB name such as "iris" or "f1" is not one by itself)."""
    said = words(question)
    terms = [w for w in said if w[:STEM] in _DOCUMENT_STEMS and w not in db_words]
    if vocabulary is not None:
        terms += [p for p in vocabulary.named_in(question) if not set(p.split()) <= db_words | GENERIC_WORDS]
        terms += [w for w in said if w in vocabulary.words and len(w) >= 5 and w not in db_words | GENERIC_WORDS
                  and w not in RUN_WORDS]
    return tuple(dict.fromkeys(terms))


_INFORMATION_QUESTION = re.compile(r"^\s*(?:what|how|who|when|where|why|which|is|are|do|does|did|can|should|must)"
                                   r"\b(?:\W+\w+){3,}", re.I)
_DOCUMENT_STEMS = frozenset(w[:STEM] for w in DOCUMENT_WORDS)
_RUN_ASK = re.compile(r"\b(?:which|what|list|show|how many|count|any|all|every)\b(?: \w+){0,3} runs?\b", re.I)


def unexplained_words(question: str, db_words: frozenset[str], doc_words: frozenset[str]) -> tuple[str, ...]:
    """The question's words that the documents hold but neither the DB's names nor the words of a run
    query explain ("malignant", "grown", "booked"): what a run answer would leave unsaid."""
    return tuple(dict.fromkeys(w for w in words(question) if w[:STEM] in doc_words and w not in db_words
                               and w not in RUN_WORDS and not any(c.isdigit() for c in w)))


def unknown_words(question: str, db_words: frozenset[str], doc_words: frozenset[str]) -> tuple[str, ...]:
    """The question's topic words that no document holds (by their first letters), nor the DB's names."""
    doc_stems = {w[:UNKNOWN_STEM] for w in doc_words}
    return tuple(dict.fromkeys(w for w in words(question) if w[:UNKNOWN_STEM] not in doc_stems and w not in db_words
                               and w not in RUN_WORDS and w not in DOCUMENT_NAMES and len(w) > 2
                               and w not in ("mean", "meaning", "define", "explain")))


_SAME_AS_BEST = re.compile(r"\b(?:top|highest[- ]scoring|leading|strongest)\b", re.I)
# The verdict asked for, which names no rule: the rule that applies is found by what the run is.
_VERDICT = re.compile(r"\b(?:good enough|meets?|pass(?:es)?|satisf\w*|ready|allowed|allow|fit|qualif\w*|complies|"
                      r"comply|(?:to )?(?:be )?publish\w*|for (?:a|the) paper)\b", re.I)


def document_part(question: str, db_words: frozenset[str]) -> str:
    """What the documents are asked for a "both" question: without the run's names ("wine" is in the
    dataset notes) or the verdict asked for ("good enough to publish"), and a run picked as "top"
    called "best", as rules say it ("It is the best run on its dataset")."""
    rule = " ".join(w for w in question.split() if not set(words(w)) & db_words) or question
    return " ".join(_VERDICT.sub(" ", _SAME_AS_BEST.sub("best", rule)).split()) or question


def run_part(question: str) -> str:
    """A "both" question without its document part ("Is our best digits run good enough to publish by
    the checklist?" -> "Is our best digits run"): what the run parser is asked, so that "publish"
    does not make it a question about the flagged runs."""
    return " ".join(_DOCUMENT_CLAUSE.sub(" ", question).split()).strip(" ,?") + "?"


def decide(question: str, parsed: Any, has_facts: bool, *, vocabulary: DocumentVocabulary | None,
           db_words: frozenset[str], meaning: Callable[[], float],
           doc_words: frozenset[str] = frozenset()) -> RouteDecision:
    """The route of one question. `meaning()` gives `meaning_margin` for the question; it is called
    only when the words leave the route open (a run query with facts and no document word costs no
    embedding). `db_words`: the DB's names as words."""
    if isinstance(parsed, (FlagRequest, Clarify)):
        return RouteDecision("runs", "a write or a question back about runs")
    if isinstance(parsed, SmallTalk) and parsed.kind in CHAT_KINDS:
        return RouteDecision("small_talk", f"small talk ({parsed.kind})")
    terms = document_terms(question, vocabulary, db_words)
    asks = bool(_ASKS_DOCUMENT.search(question))
    left = unexplained_words(question, db_words, doc_words)
    if isinstance(parsed, RunQuery) and has_facts and not terms and not asks and not left:
        return RouteDecision("runs", "a run query with facts")
    margin = meaning()
    if isinstance(parsed, RunQuery) and has_facts:
        # naming a document ("the checklist") or a phrase the documents define is clear by itself
        named = any(t in DOCUMENT_NAMES or " " in t for t in terms)
        picks_runs = bool(_RUN_ASK.search(question))
        about_docs = named or (terms and (asks or margin > MEANING_MARGIN)) or (asks and margin > STRONG_MARGIN) \
            or len(left) >= UNEXPLAINED_ALONE or (left and (asks or margin > MEANING_MARGIN)) \
            or (terms and not picks_runs and not _RUN_SELECTION.search(question))
        if not about_docs:
            return RouteDecision("runs", "a run query with facts", terms, margin, left)
        picked = _RUN_SELECTION.search(question) or _PICKED.search(question)
        if picked and named and (not asks or _JUDGES.search(question)):
            return RouteDecision("both", "a run measured against a document", terms, margin, left)
        return RouteDecision("documents", "names a document term", terms, margin, left)
    if isinstance(parsed, DocumentQuestion) or terms or asks or left or margin > MEANING_ALONE:
        return RouteDecision("documents", "about the documents", terms, margin, left)
    if isinstance(parsed, SmallTalk) and not (_INFORMATION_QUESTION.match(question) and parsed.kind == "other"):
        return RouteDecision("small_talk", "chat, not about the documents", terms, margin, left)
    if isinstance(parsed, SmallTalk):
        return RouteDecision("documents", "a question for information, not chat", terms, margin, left)
    return RouteDecision("runs", "about the runs, though no query answers it", terms, margin, left)
