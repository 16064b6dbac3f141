"""Hybrid search over the document passages of one index version: BM25 (`bm25s`) on the words plus
the bundled MiniLM on the meaning, fused into one score; and the documents' own vocabulary
(headings, defined terms) that routing reads (route.py).

Both are built once per loaded index version (its passages never change) and cached on it, so a
question costs one BM25 scoring (sub-millisecond on a lab's documents) and one inner product with
the document vectors already in memory.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from labvoice.knowledge.index import KnowledgeIndex, Passage

DENSE_WEIGHT = 0.65          # fused score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * normalised BM25
BM25_SATURATION = 6.0        # a BM25 score this high counts as a full lexical match
STOPWORDS = frozenset("""a an and are as at be by can could did do does for from had has have how i if in into is it
its me my of on or our should so than that the their them then there these they this to was we were what when where
which who why will with would you your about after before any each more most much must not no only other over same
some such too very just also tell say says said""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[._'-][a-z0-9]+)*")
_TERM = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))([A-Za-z][\w ,/()-]{1,48}?):\s")


def words(text: str) -> list[str]:
    """Content words, lower case, a plural "s" dropped ("splits" -> "split"); split on _ and /."""
    out = []
    for token in _WORD.findall(text.lower().replace("_", " ").replace("/", " ")):
        if token in STOPWORDS:
            continue
        if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
            token = token[:-1]
        out.append(token)
    return out


@dataclass(frozen=True)
class DocumentHit:
    """A document passage with its scores: `dense` cosine, `lexical` BM25, `score` the fusion."""

    passage: Passage
    dense: float
    lexical: float
    score: float


@dataclass(frozen=True)
class DocumentVocabulary:
    """What the documents name: headings and defined terms (glossary lines, rST fields), as phrases
    of content words, and every content word of those phrases."""

    phrases: tuple[str, ...]
    words: frozenset[str]

    def named_in(self, question: str) -> tuple[str, ...]:
        """The phrases whose content words all appear in the question (longest first)."""
        said = set(words(question))
        hits = [p for p in self.phrases if p and set(p.split()) <= said]
        return tuple(sorted(hits, key=lambda p: (-len(p.split()), p)))


def _body(text: str) -> str:
    """A card's text without its "From file, heading:" line."""
    return text.split("\n", 1)[1] if text.startswith("From ") and "\n" in text else text


def vocabulary_of(passages: list[Passage]) -> DocumentVocabulary:
    phrases: set[str] = set()
    for passage in passages:
        for raw in [passage.heading] + [m.group(1) for m in _TERM.finditer(_body(passage.text))]:
            phrase = " ".join(words(raw))
            if phrase and len(phrase.split()) <= 6:
                phrases.add(phrase)
    return DocumentVocabulary(tuple(sorted(phrases)), frozenset(w for p in phrases for w in p.split()))


class DocumentSearch:
    """BM25 + MiniLM over the `doc` items of one loaded index version."""

    def __init__(self, index: KnowledgeIndex) -> None:
        import bm25s

        self.index = index
        rows = [i for i, item in enumerate(index.items) if item.get("source") == "doc"]
        self.rows = np.asarray(rows, dtype=np.int64)
        self.passages = [Passage(text=index.items[i]["text"], source="doc", run_ids=(), score=0.0,
                                 path=index.items[i].get("path") or "", heading=index.items[i].get("heading") or "")
                         for i in rows]
        self.vectors = index.vectors()[self.rows] if rows else np.zeros((0, index.dimension), np.float32)
        self.vocabulary = vocabulary_of(self.passages)
        # the documents' words, by their first letters (route.STEM): "diverged" finds "divergence"
        self.words = frozenset(w[:6] for p in self.passages for w in words(f"{p.heading} {_body(p.text)}"))
        self._bm25 = None
        if rows:
            self._bm25 = bm25s.BM25()
            # the heading counts as words of its passage ("Splits" answers "how is the split made")
            self._bm25.index([words(f"{p.heading} {_body(p.text)}") or ["_"] for p in self.passages],
                             show_progress=False)

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, question: str, vector: np.ndarray, k: int) -> list[DocumentHit]:
        """The k best passages for `question` (its unit `vector` from the same embedder)."""
        if not self.passages or k <= 0:
            return []
        dense = self.vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        lexical = np.zeros(len(self.passages), dtype=np.float32)
        tokens = [t for t in words(question) if t in self._bm25.vocab_dict] if self._bm25 is not None else []
        if tokens:
            lexical = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        fused = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * np.minimum(lexical / BM25_SATURATION, 1.0)
        order = np.argsort(-fused)[:k]
        return [DocumentHit(self.passages[i], float(dense[i]), float(lexical[i]), float(fused[i])) for i in order]


_CACHE: dict[str, DocumentSearch] = {}
_CACHE_LOCK = threading.Lock()
_QUERIES: "OrderedDict[tuple[int, str], np.ndarray]" = OrderedDict()
CACHED_QUERIES = 16


def query_vector(embedder, text: str) -> np.ndarray:
    """`embedder.embed_query(text)`, kept for the last few texts: routing, the passage search and
    the sentence choice of one document question all need the same vector (one embedding, not two)."""
    key = (id(embedder), text)
    with _CACHE_LOCK:
        found = _QUERIES.get(key)
        if found is not None:
            _QUERIES.move_to_end(key)
            return found
    vector = embedder.embed_query(text)
    with _CACHE_LOCK:
        _QUERIES[key] = vector
        while len(_QUERIES) > CACHED_QUERIES:
            _QUERIES.popitem(last=False)
    return vector


def search_for(index: KnowledgeIndex) -> DocumentSearch:
    """The DocumentSearch of a loaded index version, built once per version folder."""
    key = str(index.directory)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None or found.index is not index and len(found.index.items) != len(index.items):
            found = _CACHE[key] = DocumentSearch(index)
            for stale in [k for k in _CACHE if k != key][:-4]:   # keep a few versions, not every one
                del _CACHE[stale]
        return found
