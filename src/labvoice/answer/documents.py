"""Answers from the passage that says it: the one or two sentences of the retrieved document passages
that answer the question, chosen by meaning (MiniLM) and by the question's own words, said with where
they come from ("The evaluation protocol says ...").

On the CPU profile this extractive answer is the spoken one: a 135M model cannot use passages
(DESIGN.md, measured), and a sentence copied from the document cannot invent anything. Below the
relevance threshold the answer is "I don't find that in your documents" and what the assistant can
do instead; nothing is guessed.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from labvoice.knowledge.doc_search import query_vector, words
from labvoice.knowledge.retriever import Retrieval
from labvoice.knowledge.route import DOCUMENT_NAMES

PHRASE_PROMPT = ("Say in one or two short spoken sentences what the DOCUMENT says in answer to the QUESTION, "
                 "starting with where it comes from. Use only the DOCUMENT's numbers and names; add nothing else.")
NOT_FOUND = "I don't find that in your documents."
NOT_FOUND_HELP = ("I can answer from the documents in your knowledge folder, or about your runs, "
                  "for example which run has the best validation accuracy.")
PASSAGES_READ = 3           # top passages whose sentences compete
MIN_SENTENCE_SCORE = 0.42   # below this best sentence score: not in the documents
MIN_BOTH_SCORE = 0.3        # a run question measured against a document: its rule is said when this close
MIN_COSINE_ALONE = 0.62     # a sentence this close in meaning needs no shared word
MEANING_WEIGHT = 0.7        # sentence score = MEANING_WEIGHT * cosine + rest * share of the question's words
UNKNOWN_WORD_PENALTY = 0.06  # per word of the question that the passages read do not have
NAMED_FILE_BONUS = 0.08    # a sentence of the document the question names ("the checklist") scores this much more
SECOND_WITHIN = 0.06        # a second sentence is said when it scores this close to the first
SHORT_SENTENCE_WORDS = 7    # ... or when the first is this short (a heading-like lead-in)
MAX_SENTENCE_CHARS = 400
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc|vs|cf|approx|Dr|Mr|Ms|Sir|No|Fig|al)\.", re.I)
_INITIALS = re.compile(r"(?<!\w)([A-Z])\.(?=\s?\S)")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9_`-])")
_LIST_NUMBER = re.compile(r"(?:^|(?<=[a-z)][.!?]))\s*\d{1,2}[.)]\s+(?=[A-Z])")
_DEFINITION = re.compile(r"^([A-Za-z][\w,/()-]*(?: [\w,/()-]+){0,3}):\s+(?=\S)")   # "term: what it is"
_DOT = "\u2024"             # stands in for an abbreviation's dot while splitting
DOC_NOUNS = {"protocol", "checklist", "glossary", "handbook", "notes", "guide", "manual", "policy", "readme",
             "description", "report", "faq", "wiki", "conventions", "rules"}


@dataclass(frozen=True)
class SourceUsed:
    """Where an answer's sentences come from: file (relative to the knowledge folder), heading, the sentences."""

    file: str
    heading: str
    sentences: tuple[str, ...]
    passage: str
    score: float

    def as_dict(self) -> dict:
        return {"file": self.file, "heading": self.heading, "sentences": list(self.sentences),
                "passage": self.passage, "score": round(self.score, 3)}


@dataclass(frozen=True)
class DocumentAnswer:
    """`display` for the window and --json (the sentences exactly as written), `spoken` for the ear."""

    found: bool
    display: str
    spoken: str
    sources: tuple[SourceUsed, ...]
    lead: str = ""     # where it comes from ("The evaluation protocol says:"), the start of `spoken`


def passage_body(text: str) -> str:
    """A card's text without its "From file, heading:" line. The overlap carried over from the
    previous chunk stays (its first, cut sentence is dropped by `split_sentences`)."""
    if text.startswith("From ") and "\n" in text:
        text = text.split("\n", 1)[1]
    return text.strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; list numbers dropped, abbreviations and initials not taken as ends,
    a cut sentence (starting in lower case) left out, a short lead-in ("Original Owners:") joined
    to the sentence it introduces."""
    out: list[str] = []
    lead = ""
    head, sep, rest = text.partition("\n")
    first = bool(sep) and not rest.startswith("\n")    # a chunk's first line is the previous one's tail
    for paragraph in re.split(r"\n", text):
        paragraph = _LIST_NUMBER.sub(" ", " ".join(paragraph.split())).strip()
        protected = _INITIALS.sub(lambda m: m.group(1) + _DOT, _ABBREVIATIONS.sub(lambda m: m.group(1) + _DOT,
                                                                                     paragraph))
        for sentence in _SPLIT.split(protected):
            sentence = sentence.replace(_DOT, ".").strip(" -")
            cut = first and sentence[:1].islower() and not _DEFINITION.match(sentence)
            first = first and not sentence
            if not sentence or cut:
                first = False
                continue      # the overlap's cut sentence end (a glossary's "alpha: ..." is whole)
            first = False
            if sentence.endswith(":") and len(sentence.split()) <= SHORT_SENTENCE_WORDS:
                lead = f"{lead} {sentence}".strip()
                continue
            sentence = f"{lead} {sentence}".strip()
            lead = ""
            if len(words(sentence)) >= 2:
                out.append(sentence[:MAX_SENTENCE_CHARS])
    return out


def source_name(file: str) -> str:
    """How a file is named aloud: "evaluation_protocol.md" -> "the evaluation protocol",
    "iris.rst" -> "the iris document"."""
    stem = file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    name = " ".join(re.sub(r"[_\-.]+", " ", stem).split()).lower() or "document"
    return f"the {name}" if name.split()[-1] in DOC_NOUNS else f"the {name} document"


def for_the_ear(sentence: str) -> str:
    """A document sentence as it is said: a glossary's "term: text" as "term is text", common
    abbreviations in words, no markup."""
    sentence = _DEFINITION.sub(lambda m: f"{m.group(1)} is ", sentence.strip(), count=1) \
        if not re.match(r"^[A-Z][a-z]+ [A-Z]", sentence) else sentence
    for written, said in (("e.g.", "for example"), ("i.e.", "that is"), ("etc.", "and so on"), (" %", " percent"),
                          ("%", " percent"), ("`", ""), ("*", "")):
        sentence = sentence.replace(written, said)
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


_VECTORS: "OrderedDict[tuple[int, str], np.ndarray]" = OrderedDict()
_VECTORS_LOCK = threading.Lock()
CACHED_SENTENCES = 4096


def _sentence_vectors(embedder: Any, sentences: Sequence[str]) -> np.ndarray:
    """Unit vectors of sentences, each embedded once per process (documents repeat across questions)."""
    key = id(embedder)
    with _VECTORS_LOCK:
        missing = [s for s in dict.fromkeys(sentences) if (key, s) not in _VECTORS]
    if missing:
        fresh = embedder.embed(missing)
        with _VECTORS_LOCK:
            for sentence, vector in zip(missing, fresh):
                _VECTORS[(key, sentence)] = vector
            while len(_VECTORS) > CACHED_SENTENCES:
                _VECTORS.popitem(last=False)
    with _VECTORS_LOCK:
        return np.stack([_VECTORS[(key, s)] for s in sentences])


def _under_heading(passage: Any, sentence: str) -> str:
    """A sentence as it is embedded: under its heading ("Donor: Nick Street" means little without its dataset)."""
    return f"{passage.heading}: {sentence}" if passage.heading else sentence


WARM_SENTENCES = CACHED_SENTENCES // 2
WARM_BATCH = 64


def warm_sentences(passages: Sequence[Any], embedder: Any, limit: int = WARM_SENTENCES) -> int:
    """Embed the sentences of `passages` (the documents' passages) before the first question, so a
    document answer does not wait for them (10-30 sentences of three passages, ~50-200 ms on two
    busy cores, the first time each is read). The first `limit` sentences; returns how many."""
    texts = list(dict.fromkeys(_under_heading(p, s) for p in passages
                               for s in split_sentences(passage_body(p.text))))[:limit]
    for start in range(0, len(texts), WARM_BATCH):
        _sentence_vectors(embedder, texts[start:start + WARM_BATCH])
    return len(texts)


STEM_CHARS = 5              # words are matched on their first letters ("donated"/"donor" no, "rounded"/"round" yes)


def _stems(text: str) -> set[str]:
    return {w[:STEM_CHARS] for w in words(text)}


def _topic_words(question: str) -> set[str]:
    """The question's content words that say what it is about (not "document", "say", "mean"), as stems."""
    return {w[:STEM_CHARS] for w in words(question) if w not in DOCUMENT_NAMES and w not in {
        "mean", "meaning", "defined", "define", "explain", "lab"}}


def _named_file_bonus(question: str, passage: Any) -> float:
    """NAMED_FILE_BONUS when the question names the passage's document ("the checklist":
    publishing_checklist.md). It ranks; it never lifts an answer over the relevance threshold."""
    named = {w for w in words(question) if w in DOCUMENT_NAMES}
    return NAMED_FILE_BONUS if named & set(words(passage.path.rsplit("/", 1)[-1].rsplit(".", 1)[0])) else 0.0


def choose_sentences(question: str, passages: Sequence[Any], embedder: Any,
                     unknown: int = 0) -> tuple[list[tuple[float, int, int]], list[list[str]]]:
    """Score every sentence of the top passages: (score, passage number, sentence number), best first.
    `unknown`: how many of the question's words no document has at all ("BLEU"): each lowers every score."""
    topic = _topic_words(question)
    sentences = [split_sentences(passage_body(p.text)) for p in passages]
    flat = [(i, j, s) for i, group in enumerate(sentences) for j, s in enumerate(group)]
    if not flat or embedder is None:
        return [], sentences
    question_vector = query_vector(embedder, question)   # the one routing and the search used
    cosines = _sentence_vectors(embedder, [_under_heading(passages[i], s) for i, _, s in flat]) @ question_vector
    scored = []
    for (i, j, sentence), cosine in zip(flat, cosines):
        said = _stems(f"{passages[i].path.rsplit('.', 1)[0]} {passages[i].heading} {sentence}")
        share = len(topic & said) / len(topic) if topic else 0.0
        if not (topic & _stems(sentence) or topic & said and cosine >= MIN_SENTENCE_SCORE) \
                and cosine < MIN_COSINE_ALONE:
            continue     # shares no word of the question with it and is not close in meaning
        penalty = UNKNOWN_WORD_PENALTY * unknown if cosine < MIN_COSINE_ALONE else 0.0
        bonus = _named_file_bonus(question, passages[i])
        scored.append((MEANING_WEIGHT * float(cosine) + (1 - MEANING_WEIGHT) * share - penalty + bonus, i, j))
    scored.sort(key=lambda item: -item[0])
    return scored, sentences


def answer_from_documents(question: str, passages: Sequence[Any], embedder: Any,
                          min_score: float = MIN_SENTENCE_SCORE, unknown: int = 0) -> DocumentAnswer:
    """The sentence or two that answer `question` from `passages` (document passages, best first),
    or NOT_FOUND when none scores `min_score`."""
    docs = [p for p in passages if p.source == "doc"][:PASSAGES_READ]
    scored, sentences = choose_sentences(question, docs, embedder, unknown)
    candidates = {(i, j) for _, i, j in scored}
    # a lead-in ("Before a result goes into a paper ...:") says nothing alone: only with what it introduces
    scored = [(score, i, j) for score, i, j in scored if not sentences[i][j].endswith(":") or (i, j + 1) in candidates]
    if not scored or scored[0][0] - _named_file_bonus(question, docs[scored[0][1]]) < min_score:
        return DocumentAnswer(False, f"{NOT_FOUND} {NOT_FOUND_HELP}", f"{NOT_FOUND} {NOT_FOUND_HELP}", ())
    best, i, j = scored[0]
    chosen = [j]
    group = sentences[i]
    for score, i2, j2 in scored[1:]:
        if i2 == i and j2 == j + 1 and (score >= best - SECOND_WITHIN or group[j].endswith(":") or min(
                len(group[j].split()), len(group[j2].split())) <= SHORT_SENTENCE_WORDS):
            chosen.append(j2)
            break
    used = tuple(group[k] for k in sorted(chosen))
    passage = docs[i]
    source = SourceUsed(passage.path, passage.heading, used, passage_body(passage.text), best)
    lead = f"{source_name(passage.path).capitalize()} says:"
    spoken = f"{lead} " + " ".join(for_the_ear(s) for s in used)
    return DocumentAnswer(True, " ".join(used), spoken, (source,), lead)


def reply_from_documents(retrieval: Retrieval, embedder: Any) -> DocumentAnswer:
    """The document answer of one turn (the answerer, `ask` and the evaluation all use this one).
    Routed "both": the run facts first (as the run answer says them), then what the document says."""
    route = retrieval.route.route if retrieval.route is not None else "documents"
    facts = retrieval.factset.facts
    if route == "both" and facts:
        rule = retrieval.route.document_question or retrieval.question   # routed "both": a decision was made
        found = answer_from_documents(rule, retrieval.passages, embedder, MIN_BOTH_SCORE)
        template = retrieval.factset.templated_answer or " ".join(f.spoken for f in facts)
        display = retrieval.factset.display_answer
        if not found.found:
            return DocumentAnswer(False, display, template, ())
        return DocumentAnswer(True, f"{display} {found.display}", f"{template} {found.spoken}", found.sources)
    return answer_from_documents(retrieval.question, retrieval.passages, embedder,
                                 unknown=len(retrieval.route.unknown) if retrieval.route is not None else 0)


def phrase_messages(question: str, reply: DocumentAnswer, system_prompt: str) -> list:
    """For a capable LLM (vLLM, an OpenAI-compatible server): phrase the chosen sentences, nothing else."""
    from labvoice.llm.base import ChatMessage

    source = reply.sources[0]
    text = (f"DOCUMENT ({source_name(source.file)}, {source.heading or source.file}): {' '.join(source.sentences)}"
            f"\n\nQUESTION: {question}\n\n{PHRASE_PROMPT}")
    return [ChatMessage("system", system_prompt), ChatMessage("user", text)]


def phrase_grounding(reply: DocumentAnswer) -> str:
    """What a phrasing may say: the chosen sentences and where they come from."""
    return "\n".join([reply.display] + [f"{source_name(s.file)} {s.heading}" for s in reply.sources])
