"""Cut a stream of LLM tokens into speakable pieces, so speech starts before the answer ends.

A piece ends at a sentence end (``. ! ?`` followed by whitespace), at a line break, at a clause
break (``, ; :`` followed by whitespace) once `min_words` words are pending, or at a word boundary
once more than `max_words` words are pending. A cut only ever happens at whitespace that has
already arrived, so numbers (``0.95``, ``3.5e-4``, ``1,000``), versions (``v1.2``), run ids
(``68305ae9``, ``run-2024_03``) and times (``12:30``) are never split, whatever the tokenizer does.
Abbreviations (``e.g.``, ``i.e.``, ``Dr.``) do not end a sentence; ``etc.`` and ``et al.`` end
one only when the next word is capitalised, so the chunker waits for that word.
"""
from __future__ import annotations

import logging
import re
from typing import Iterable

log = logging.getLogger(__name__)

# Abbreviations after which a full stop never ends a sentence (compared lower-case, no dots).
NEVER_SENTENCE_END = frozenset({
    "e.g", "eg", "i.e", "ie", "vs", "cf", "approx", "mr", "mrs", "ms", "dr", "prof", "sr", "jr",
    "st", "fig", "figs", "eq", "eqs", "incl", "resp", "ca", "vol", "dept",
})
# Abbreviations that often end a sentence: a stop ends it only if the next word is capitalised.
MAYBE_SENTENCE_END = frozenset({"etc", "al"})

# Punctuation (with closing quotes/brackets) followed by whitespace: the only places we cut.
# A line break cuts by itself (lists, paragraphs).
_BREAK = re.compile(r"""(?P<punct>\.{2,}|…|[.!?]+|[,;:])(?P<close>["'”’)\]]*)(?=\s)|(?P<newline>\n)""")
_WORD_BEFORE = re.compile(r"""(\S+)$""")
_INITIALS = re.compile(r"""^(?:[A-Za-z]\.)+[A-Za-z]$""")  # e.g / i.e / U.S (dots inside)
_SPEAKABLE = re.compile(r"\w")


def _word_count(text: str) -> int:
    return len(text.split())


# The first piece is what the listener waits for: Piper synthesizes a piece whole before its first
# sample, ~0.1 s of CPU per second of speech (measured), so a long first piece delays the first
# audio. One longer than FIRST_PIECE_MAX_WORDS is cut where a phrase ends, before its verb ("The
# run with the best accuracy on digits | is an MLP from today,"), never inside a phrase.
FIRST_PIECE_MAX_WORDS = 10
FIRST_PIECE_MIN_WORDS = 4
_PHRASE_VERBS = frozenset("is are was were has have had reached scored got used ran".split())


def split_first_piece(piece: str, max_words: int = FIRST_PIECE_MAX_WORDS) -> list[str]:
    """`piece` as one or two pieces: the first at most `max_words` words, ending before a verb
    that follows a phrase of at least FIRST_PIECE_MIN_WORDS words; unchanged when there is none."""
    words = piece.split()
    if len(words) <= max_words:
        return [piece]
    for i in range(min(max_words, len(words) - 1), FIRST_PIECE_MIN_WORDS - 1, -1):
        if words[i].lower() in _PHRASE_VERBS and not words[i - 1].endswith((",", ";", ":")):
            return [" ".join(words[:i]), " ".join(words[i:])]
    return [piece]


class SentenceChunker:
    """Stateful: `feed()` tokens as they stream, `flush()` at the end of the answer.

    Not thread-safe; one chunker per turn, owned by the thread that reads the LLM stream.
    """

    def __init__(self, min_words: int, max_words: int) -> None:
        if min_words < 1 or max_words < 2 or min_words > max_words:
            raise ValueError(f"chunk words: need 1 <= min_words ({min_words}) <= max_words ({max_words})")
        self.min_words = min_words
        self.max_words = max_words
        self._buffer = ""

    @classmethod
    def from_config(cls, pipeline_config) -> "SentenceChunker":
        return cls(pipeline_config.chunk_min_words, pipeline_config.chunk_max_words)

    @property
    def pending(self) -> str:
        """Text received but not yet returned as a piece."""
        return self._buffer

    def reset(self) -> None:
        self._buffer = ""

    def feed(self, token: str) -> list[str]:
        """Add streamed text; return the pieces that are now complete (often none)."""
        self._buffer += token
        pieces: list[str] = []
        while True:
            cut = self._find_cut(self._buffer)
            if cut is None:
                return pieces
            piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
            if _SPEAKABLE.search(piece):  # symbols alone ("**", "...") are not worth a chunk
                pieces.append(" ".join(piece.split()))

    def feed_all(self, tokens: Iterable[str]) -> list[str]:
        """Convenience for tests and one-shot text: every piece, remainder included."""
        pieces = [piece for token in tokens for piece in self.feed(token)]
        rest = self.flush()
        return pieces + ([rest] if rest else [])

    def flush(self) -> str:
        """The remainder as one piece ('' when nothing speakable is left); the chunker is then empty."""
        rest, self._buffer = self._buffer, ""
        return " ".join(rest.split()) if _SPEAKABLE.search(rest) else ""

    # -- where to cut ----------------------------------------------------------------------
    def _find_cut(self, buf: str) -> int | None:
        """Index just past the end of the first complete piece in `buf`, or None to wait."""
        for match in _BREAK.finditer(buf):
            end = match.end()
            punct = match.group("punct")
            if match.group("newline"):
                if buf[:match.start()].strip():
                    return end
                continue
            if punct in ",;:":
                if _word_count(buf[:end]) >= self.min_words:
                    return end
                continue
            verdict = self._sentence_end(buf, match)
            if verdict is None:
                break  # need the next word to decide; nothing after this point can be cut yet
            if verdict:
                return end
        return self._max_words_cut(buf)

    def _sentence_end(self, buf: str, match: re.Match) -> bool | None:
        """Does this stop end a sentence? None = undecidable until the next word arrives."""
        if match.group("punct") != ".":
            return True  # ! ? ... and ellipses end sentences
        before = _WORD_BEFORE.search(buf, 0, match.start())
        if before is None:
            return True
        word = before.group(1).lstrip("\"'“‘([")
        key = word.lower()
        nxt = buf[match.end():].lstrip()
        if key in MAYBE_SENTENCE_END:
            if not nxt:
                return None
            return nxt[0].isupper()
        if key == "no" and word[0].isupper():
            # "No. 5" is a number sign; "No. It was not." is a sentence.
            if not nxt:
                return None
            return not nxt[0].isdigit()
        if key in NEVER_SENTENCE_END or _INITIALS.match(word):
            return False
        if len(word) == 1 and word.isupper():
            return False  # an initial: "J. Smith"
        return True

    def _max_words_cut(self, buf: str) -> int | None:
        """Cut after word number `max_words` once more than that many complete words wait."""
        count = 0
        for match in re.finditer(r"\S+(?=\s)", buf):
            count += 1
            if count == self.max_words and _word_count(buf) > self.max_words:
                return match.end()
        return None
