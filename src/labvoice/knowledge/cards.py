"""Text cards for the knowledge index: one card per run, and chunks of the knowledge-base documents.

A card is the exact text that gets embedded, plus where it came from. Its fingerprint is a hash of
that text, so an index can tell which cards changed and reuse the vectors of the others.
Documents (`.md`, `.txt`, `.pdf`) are split on paragraph boundaries into chunks of at most
`knowledge.chunk_chars` characters, each new chunk starting with up to `knowledge.chunk_overlap`
characters of the previous one. A file that cannot be read is skipped with one warning line.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal

from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run

if TYPE_CHECKING:
    from labvoice.config import KnowledgeConfig

log = logging.getLogger(__name__)

DOC_SUFFIXES = (".md", ".txt", ".pdf")
TEXT_ENCODING = "utf-8"
METRIC_FORMAT = ".4g"           # significant digits of metric values in run cards
DATE_CHARS = len("YYYY-MM-DD")  # ISO timestamps are cut to their date in cards
DATASET_PARAM_KEYS = ("dataset", "dataset_id")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")

Source = Literal["run", "doc"]


class DocumentError(ValueError):
    """A knowledge-base file could not be read; the message names the file."""


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
    """One unit of text to embed. `key` is unique within an index (`run:<id>`, `doc:<path>#<n>`)."""

    key: str
    text: str
    source: Source
    run_ids: tuple[str, ...]
    path: str
    fingerprint: str


@dataclass(frozen=True)
class DocumentCards:
    """Chunks of every readable document, plus per-file fingerprints and the files skipped."""

    cards: tuple[Card, ...]
    file_fingerprints: dict[str, str]   # path relative to the kb folder -> fingerprint (read or skipped)
    skipped: tuple[str, ...]            # one readable line per skipped file


def text_fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return format(value, METRIC_FORMAT)
    return str(value)


def _key_params(params: dict) -> list[str]:
    skip = set(MODEL_PARAM_KEYS) | set(DATASET_PARAM_KEYS)
    out = []
    for key in sorted(params):
        value = params[key]
        if key in skip or value is None or isinstance(value, (dict, list)):
            continue
        out.append(f"{key}={_format_value(value)}")
    return out


def run_card_text(run: Run) -> str:
    """The card text for one run: id, dataset, model kind, key params, all final metrics, note, date, command."""
    model = run.model_kind or "unknown model"
    lines = [f"Run {run.run_id}: {model} trained on dataset {run.dataset_id or 'unknown'}."]
    params = _key_params(run.params)
    if params:
        lines.append("Params: " + ", ".join(params) + ".")
    metrics = ", ".join(f"{k}={_format_value(v)}" for k, v in sorted(run.metrics.items()))
    lines.append(f"Final metrics: {metrics}.")
    if run.note:
        lines.append(f"Note: {run.note}")
    if run.timestamp:
        lines.append(f"Recorded on {run.timestamp[:DATE_CHARS]}.")  # the date only: fewer tokens to embed
    if run.command:
        lines.append(f"Command: {run.command}")
    return "\n".join(lines)


def run_card(run: Run) -> Card:
    text = run_card_text(run)
    return Card(key=f"run:{run.run_id}", text=text, source="run", run_ids=(run.run_id,), path="",
                fingerprint=text_fingerprint(text))


def run_cards(runs: Iterable[Run]) -> list[Card]:
    return [run_card(run) for run in runs]


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
    """The text of one md/txt/pdf file; raises DocumentError naming the file if it is unreadable."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            return _read_pdf(path)
        return path.read_text(encoding=TEXT_ENCODING)
    except UnicodeDecodeError:
        raise DocumentError(f"{path}: not {TEXT_ENCODING} text; re-save it as UTF-8 or remove it") from None
    except OSError as err:
        raise DocumentError(f"{path}: cannot be read ({err.strerror or err})") from None


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError(f"{path}: PDF is encrypted; save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except OSError:
        raise
    except Exception as err:  # pypdf raises many exception types on corrupt files
        raise DocumentError(f"{path}: not a readable PDF ({type(err).__name__}: {err}); "
                            "replace or remove it") from None
    return "\n\n".join(pages)


def list_documents(kb_dir: Path) -> list[Path]:
    """The md/txt/pdf files under kb_dir (recursively, hidden files left out), in a stable order."""
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
    digest = hashlib.sha1(f"{chunking.chars}:{chunking.overlap}\n".encode())
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
            text = read_document(path)
        except DocumentError as err:
            skipped.append(f"skipped {err}")
        except OSError as err:
            skipped.append(f"skipped {path}: cannot be read ({err.strerror or err})")
        else:
            for number, chunk in enumerate(chunk_text(text, chunking)):
                body = f"From {rel}:\n{chunk}"
                cards.append(Card(key=f"doc:{rel}#{number}", text=body, source="doc", run_ids=(),
                                  path=rel, fingerprint=text_fingerprint(body)))
            continue
        log.warning("%s", skipped[-1])
    return DocumentCards(cards=tuple(cards), file_fingerprints=fingerprints, skipped=tuple(skipped))
