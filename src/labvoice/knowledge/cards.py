"""Text cards for the knowledge index: chunks of the knowledge-base documents, one summary per dataset
and per model kind, and one card per run that has a note.

Facts about runs (which is best, how many, which parameters) are computed from SQL for each
question, so the index does not hold a card for every run: on 100,000 runs that would cost half an
hour of embedding for text the answers never need. What retrieval does need is what SQL cannot
search by meaning: documents, the user's own words in run notes, and an overview of each dataset and
model kind. A card is the text shown as a passage plus where it came from; its fingerprint is a
hash of that text, so an index can tell which cards changed and reuse the vectors of the others.
Documents (Markdown, text, reStructuredText, PDF, notebooks' markdown cells: `documents.py`) are read
as sections under their headings; each section is split on paragraph boundaries into chunks of at
most `knowledge.chunk_chars` characters, each new chunk starting with up to `knowledge.chunk_overlap`
characters of the previous one, and each chunk keeps its file and heading. A file that cannot be
read is skipped with one warning line.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal

from labvoice.knowledge.documents import DOC_SUFFIXES, DocumentError, read_sections, read_text
from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run

if TYPE_CHECKING:
    from labvoice.config import KnowledgeConfig

log = logging.getLogger(__name__)

READER_VERSION = "sections-1"   # in every file fingerprint: a new reader re-chunks every document
DATE_CHARS = len("YYYY-MM-DD")  # ISO timestamps are cut to their date in cards
SUMMARY_NAMES = 24              # names listed per kind in a summary card (then "and N more")
DATASET_PARAM_KEYS = ("dataset", "dataset_id")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")

Source = Literal["run", "summary", "doc"]


@dataclass(frozen=True)
class Chunking:
    """How documents are cut into chunks (from config `knowledge.chunk_chars/chunk_overlap`)."""

    chars: int
    overlap: int

    def __post_init__(self) -> None:
        if self.chars <= 0 or self.overlap < 0 or self.overlap >= self.chars:
            raise ValueError(f"chunk_overlap ({self.overlap}) must be >= 0 and smaller than "
                             f"chunk_chars ({self.chars}); fix knowledge: in config/config.yaml")

    @classmethod
    def from_config(cls, knowledge: "KnowledgeConfig") -> "Chunking":
        return cls(chars=knowledge.chunk_chars, overlap=knowledge.chunk_overlap)


@dataclass(frozen=True)
class Card:
    """One unit of text to embed. `key` is unique within an index (`run:<id>`, `summary:dataset:<name>`,
    `doc:<path>#<n>`). `fingerprint` hashes the shown text (staleness); `vector_key` hashes the text
    that is embedded (`embed_text`, or `text` when empty): cards with the same one share a vector."""

    key: str
    text: str
    source: Source
    run_ids: tuple[str, ...]
    path: str
    fingerprint: str
    vector_key: str = ""
    embed_text: str = ""
    heading: str = ""        # documents: the heading the chunk sits under ("" before the first)

    @property
    def text_to_embed(self) -> str:
        return self.embed_text or self.text

    @property
    def vector_id(self) -> str:
        return self.vector_key or self.fingerprint


@dataclass(frozen=True)
class DocumentCards:
    """Chunks of every readable document, plus per-file fingerprints and the files skipped."""

    cards: tuple[Card, ...]
    file_fingerprints: dict[str, str]   # path relative to the kb folder -> fingerprint (read or skipped)
    skipped: tuple[str, ...]            # one readable line per skipped file


def text_fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _model(run: Run) -> str:
    return run.model_kind or "unknown model"


def run_card_text(run: Run) -> str:
    """The card text of a run with a note: who the run is and what the note says (its numbers are
    facts, computed from SQL for each question, so they are not repeated here)."""
    date = f", {run.timestamp[:DATE_CHARS]}" if run.timestamp else ""
    return f"Note on run {run.run_id} ({_model(run)} on {run.dataset_id or 'unknown dataset'}{date}): {run.note.strip()}"


def _note_embed_text(run: Run) -> str:
    """What is embedded for a note: no id or date, so runs with the same note on the same kind of
    model and dataset ("PUBLISH", "diverged") share one vector."""
    return f"Note on a {_model(run)} run on {run.dataset_id or 'unknown dataset'}: {run.note.strip()}"


def run_card(run: Run) -> Card | None:
    """The card of one run: only runs with a note have one."""
    if not run.note or not run.note.strip():
        return None
    text = run_card_text(run)
    return Card(key=f"run:{run.run_id}", text=text, source="run", run_ids=(run.run_id,), path="",
                fingerprint=text_fingerprint(text), vector_key=text_fingerprint(_note_embed_text(run)),
                embed_text=_note_embed_text(run))


def _names(counts: dict[str, int] | set[str], limit: int = SUMMARY_NAMES) -> str:
    """Up to `limit` names, alphabetical (so one more run does not reorder them and force a re-embed);
    when there are more, the most frequent ones and "and N more"."""
    names = sorted(counts)
    if len(names) > limit:
        frequent = sorted(counts, key=lambda k: (-counts[k], k))[:limit] if isinstance(counts, dict) else names
        return f"{', '.join(sorted(frequent[:limit]))} and {len(names) - limit} more"
    return ", ".join(names)


def summary_cards(runs: Iterable[Run]) -> list[Card]:
    """One card per dataset and one per model kind: which models, datasets, parameters and metrics
    their runs have. No counts or values (those change with every run; facts carry them)."""
    datasets: dict[str, list] = {}   # name -> [other names, param counts, metric counts]
    kinds: dict[str, list] = {}
    skip = set(MODEL_PARAM_KEYS) | set(DATASET_PARAM_KEYS)
    for run in runs:
        kind = run.model_kind
        for name, other, table in ((run.dataset_id, kind, datasets), (kind, run.dataset_id, kinds)):
            if not name:
                continue
            entry = table.get(name)
            if entry is None:
                entry = table[name] = [set(), {}, {}]
            if other:
                entry[0].add(other)
            params, metrics = entry[1], entry[2]
            for key in run.params:
                if key not in skip:
                    params[key] = params.get(key, 0) + 1
            for key in run.metrics:
                metrics[key] = metrics.get(key, 0) + 1
    cards = []
    for what, table in (("dataset", datasets), ("model", kinds)):
        for name in sorted(table):
            other, params, metrics = table[name]
            title = f"{'Dataset' if what == 'dataset' else 'Model'} {name}"
            if other:
                title += f": runs of the models {_names(other)}" if what == "dataset" else \
                    f": runs on the datasets {_names(other)}"
            lines = [title + "."]
            if params:
                lines.append(f"Parameters: {_names(params)}.")
            if metrics:
                lines.append(f"Metrics: {_names(metrics)}.")
            text = "\n".join(lines)
            fingerprint = text_fingerprint(text)
            cards.append(Card(key=f"summary:{what}:{name}", text=text, source="summary", run_ids=(), path="",
                              fingerprint=fingerprint, vector_key=fingerprint))
    return cards


def run_cards(runs: Iterable[Run]) -> list[Card]:
    """What the runs put in the index: the dataset and model summaries, then one card per noted run."""
    runs = list(runs)
    notes = [card for card in map(run_card, runs) if card is not None]
    return summary_cards(runs) + notes


def _split_long(paragraph: str, limit: int) -> list[str]:
    """Cut a paragraph longer than `limit` at sentence ends, else at spaces, else hard."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        joined = f"{current} {sentence}".strip()
        if len(joined) <= limit:
            current = joined
        else:
            pieces.append(current)
            current = sentence
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def _tail(text: str, overlap: int) -> str:
    """The last <= overlap characters of text, starting at a word boundary."""
    if overlap <= 0 or not text:
        return ""
    tail = text[-overlap:]
    if len(text) > overlap:
        space = tail.find(" ")
        tail = tail[space + 1:] if space >= 0 else ""
    return tail.strip()


def chunk_text(text: str, chunking: Chunking) -> list[str]:
    """Chunks of at most `chunking.chars` characters, on paragraph boundaries where possible."""
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text)]
    body_limit = chunking.chars - chunking.overlap - 1  # room for the overlap prefix and a newline
    units: list[str] = []
    for para in paragraphs:
        if para:
            units.extend(_split_long(para, body_limit) if len(para) > body_limit else [para])
    chunks: list[str] = []
    body = ""
    for unit in units:
        candidate = f"{body}\n\n{unit}" if body else unit
        prefix = _tail(chunks[-1], chunking.overlap) if chunks else ""
        if body and len(prefix) + 1 + len(candidate) > chunking.chars:
            chunks.append(f"{prefix}\n{body}" if prefix else body)
            body = unit
        else:
            body = candidate
    if body:
        prefix = _tail(chunks[-1], chunking.overlap) if chunks else ""
        chunks.append(f"{prefix}\n{body}" if prefix else body)
    return chunks


def read_document(path: Path) -> str:
    """The text of one document; raises DocumentError naming the file if it is unreadable."""
    return read_text(path)


def list_documents(kb_dir: Path) -> list[Path]:
    """The documents (DOC_SUFFIXES) under kb_dir (recursively, hidden files left out), in a stable order."""
    files = []
    for path in sorted(kb_dir.rglob("*")):
        rel = path.relative_to(kb_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in DOC_SUFFIXES:
            files.append(path)
    return files


def file_fingerprint(path: Path, chunking: Chunking) -> str:
    """Hash of a file's bytes and the chunk settings: changes when its chunks could change."""
    digest = hashlib.sha1(f"{READER_VERSION}:{chunking.chars}:{chunking.overlap}\n".encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()


def document_fingerprints(kb_dir: Path, chunking: Chunking) -> dict[str, str]:
    """relative path -> fingerprint for every document (cheap: no parsing)."""
    out = {}
    for path in list_documents(kb_dir):
        try:
            out[path.relative_to(kb_dir).as_posix()] = file_fingerprint(path, chunking)
        except OSError as err:
            log.warning("skipped %s: cannot be read (%s)", path, err.strerror or err)
    return out


def document_cards(kb_dir: Path, chunking: Chunking) -> DocumentCards:
    """Chunk every document in kb_dir; unreadable files are skipped with a warning naming them."""
    cards: list[Card] = []
    fingerprints: dict[str, str] = {}
    skipped: list[str] = []
    for path in list_documents(kb_dir):
        rel = path.relative_to(kb_dir).as_posix()
        try:
            fingerprints[rel] = file_fingerprint(path, chunking)  # kept for skipped files too
            sections = read_sections(path)
        except DocumentError as err:
            skipped.append(f"skipped {err}")
        except OSError as err:
            skipped.append(f"skipped {path}: cannot be read ({err.strerror or err})")
        else:
            number = 0
            for section in sections:
                where = f"{rel}, {section.heading}" if section.heading else rel
                for chunk in chunk_text(section.text, chunking):
                    body = f"From {where}:\n{chunk}"
                    cards.append(Card(key=f"doc:{rel}#{number}", text=body, source="doc", run_ids=(), path=rel,
                                      fingerprint=text_fingerprint(body), heading=section.heading))
                    number += 1
            continue
        log.warning("%s", skipped[-1])
    return DocumentCards(cards=tuple(cards), file_fingerprints=fingerprints, skipped=tuple(skipped))
