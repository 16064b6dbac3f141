"""The knowledge index: FAISS inner-product search over document chunks, dataset and model summaries
and run notes, on disk (see `cards.py` for why it holds no card per run: facts come from SQL).

Each build is an immutable version folder (vectors.faiss = IndexFlatIP, items.jsonl, manifest.json)
inside `index_dir`, published atomically through a `CURRENT` pointer file (see `versioned_dir.py`
for the layout and why a pointer file rather than a folder rename or a symlink): a build that is
killed or raises at any point leaves the previous version live and loadable.

Incremental builds. Every item carries the fingerprint of its exact text and the key of the text it
embedded (see `cards.py`). A build loads the live version and reuses the vector of every item whose
embedded text is unchanged, provided that version was built with the same embedding model (name,
config hash, dimension); only new or changed texts are embedded, each distinct text once, in batches
of similar length. Removed notes and files simply drop out. On 100,000 runs the build is bound by
reading the runs, not by embedding.

Failures to read an index raise `IndexUnavailable` (one line naming the fix), which callers catch
to fall back to SQL facts.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Sequence

import faiss
import numpy as np
from tqdm import tqdm

from labvoice.errors import LabvoiceError
from labvoice.knowledge.cards import (Card, Chunking, document_cards, document_fingerprints,
                                      run_cards)
from labvoice.knowledge.embedder import Embedder, ModelInfo
from labvoice.knowledge.live_runs import RunSnapshot, shared_runs
from labvoice.knowledge.store import ManifestStore, StoreError
from labvoice.knowledge.versioned_dir import (BadPointer, NoVersion, current_version, fsync_file,
                                              new_build_dir, publish)

log = logging.getLogger(__name__)

INDEX_FORMAT = 2            # 2: summaries + notes instead of one card per run
VECTORS = "vectors.faiss"
ITEMS = "items.jsonl"
MANIFEST = "manifest.json"
FIX = "labvoice index (in a checkout also python scripts/build_index.py)"
POINTER_READ_ATTEMPTS = 2   # a reader may race one swap; re-reading CURRENT once is enough


class IndexUnavailable(LabvoiceError, RuntimeError):
    """The index is missing (`code` index_missing) or corrupt, stale or built with another model
    (index_stale); callers fall back to SQL facts."""

    def __init__(self, code: Literal["index_missing", "index_stale"], message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class Passage:
    """One search hit: the card text, where it came from and its cosine similarity."""

    text: str
    source: str              # "run" (a run's note) | "summary" | "doc"
    run_ids: tuple[str, ...]
    score: float
    path: str                # document path relative to the knowledge folder; "" for other cards
    heading: str = ""        # documents: the heading the passage sits under


@dataclass(frozen=True)
class BuildReport:
    embedded: int
    reused: int
    removed: int
    runs: int
    notes: int
    summaries: int
    doc_chunks: int
    documents: int
    skipped_runs: int
    skipped_documents: tuple[str, ...]
    seconds: float
    version_dir: str

    @property
    def total(self) -> int:
        return self.notes + self.summaries + self.doc_chunks

    def summary(self) -> str:
        line = (f"index {Path(self.version_dir).parent}: {self.summaries} summaries and {self.notes} notes of "
                f"{self.runs} runs + {self.doc_chunks} chunks of {self.documents} documents; embedded "
                f"{self.embedded}, reused {self.reused}, removed {self.removed} in {self.seconds:.1f} s")
        if self.skipped_runs:
            line += f"; skipped {self.skipped_runs} malformed run(s)"
        if self.skipped_documents:
            line += f"; skipped {len(self.skipped_documents)} unreadable document(s)"
        return line


def _unavailable(index_dir: Path, what: str) -> IndexUnavailable:
    return IndexUnavailable("index_stale", f"knowledge index at {index_dir} {what}; rebuild it with: {FIX}")


def _live_version(index_dir: Path) -> Path:
    try:
        return current_version(index_dir)
    except NoVersion:
        raise IndexUnavailable("index_missing", f"no knowledge index at {index_dir}; build it with: {FIX}") from None
    except BadPointer as err:
        raise _unavailable(index_dir, f"has a {err}") from None


def _read_json(path: Path, index_dir: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise _unavailable(index_dir, f"is corrupt ({path.name}: {err})") from None


def _manifest_at(version: Path, index_dir: Path) -> dict[str, Any]:
    manifest = _read_json(version / MANIFEST, index_dir)
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise _unavailable(index_dir, f"has an unknown format (expected format {INDEX_FORMAT})")
    return manifest


def read_manifest(index_dir: str | os.PathLike) -> dict[str, Any]:
    """The live version's manifest.json (cheap: no vectors are read)."""
    index_dir = Path(index_dir)
    for attempt in range(POINTER_READ_ATTEMPTS):
        try:
            return _manifest_at(_live_version(index_dir), index_dir)
        except FileNotFoundError:
            if attempt + 1 == POINTER_READ_ATTEMPTS:
                raise _unavailable(index_dir, "is incomplete (its version folder is missing)") from None
    raise AssertionError("unreachable")


def _same_model(manifest: dict[str, Any], info: ModelInfo) -> bool:
    return (manifest.get("embedding_model") == info.name and manifest.get("embedding_config_hash")
            == info.config_hash and manifest.get("dimension") == info.dimension)


class KnowledgeIndex:
    """A loaded index version: vectors in memory, items, manifest; optional embedder for text queries."""

    def __init__(self, vectors: Any, items: list[dict[str, Any]], manifest: dict[str, Any],
                 directory: Path, embedder: Embedder | None = None) -> None:
        self._vectors = vectors
        self.items = items
        self.manifest = manifest
        self.directory = directory
        self.embedder = embedder

    def current(self) -> "KnowledgeIndex":
        """Itself: a loaded version is its own current index (a `LiveIndex` swaps versions)."""
        return self

    @classmethod
    def load(cls, index_dir: str | os.PathLike, embedder: Embedder | None = None) -> "KnowledgeIndex":
        """Load the live version. Raises IndexUnavailable (one line naming the fix) on any problem."""
        index_dir = Path(index_dir)
        for attempt in range(POINTER_READ_ATTEMPTS):
            try:
                return cls._load_version(index_dir, _live_version(index_dir), embedder)
            except FileNotFoundError:
                if attempt + 1 == POINTER_READ_ATTEMPTS:
                    raise _unavailable(index_dir, "is incomplete (a file of its live version is missing)") from None
        raise AssertionError("unreachable")

    @classmethod
    def _load_version(cls, index_dir: Path, version: Path, embedder: Embedder | None) -> "KnowledgeIndex":
        manifest = _manifest_at(version, index_dir)
        if not (version / VECTORS).is_file():
            raise FileNotFoundError(version / VECTORS)
        try:
            vectors = faiss.read_index(str(version / VECTORS))
        except RuntimeError as err:
            raise _unavailable(index_dir, f"is corrupt ({VECTORS}: {str(err).splitlines()[0]})") from None
        try:
            with open(version / ITEMS, encoding="utf-8") as fh:
                items = [json.loads(line) for line in fh if line.strip()]
        except (OSError, ValueError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise _unavailable(index_dir, f"is corrupt ({ITEMS}: {err})") from None
        if any(not isinstance(i, dict) or not isinstance(i.get("text"), str) for i in items):
            raise _unavailable(index_dir, f"is corrupt ({ITEMS} has entries without text)")
        if len(items) != vectors.ntotal or vectors.d != manifest.get("dimension"):
            raise _unavailable(index_dir, f"is corrupt ({len(items)} items but {vectors.ntotal} vectors "
                                          f"of size {vectors.d})")
        if embedder is not None and not _same_model(manifest, embedder.info):
            raise _unavailable(index_dir, f"was built with embedding model {manifest.get('embedding_model')} "
                                          f"({manifest.get('dimension')}-d), not {embedder.name}")
        return cls(vectors, items, manifest, version, embedder)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def dimension(self) -> int:
        return int(self._vectors.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors, (len, dimension) float32, in item order."""
        if not self.items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._vectors.reconstruct_n(0, self._vectors.ntotal)

    def search_text(self, text: str, k: int) -> list[Passage]:
        """The Retriever's passage-source interface: `search` by text."""
        return self.search(text, k)

    def search(self, query: str | np.ndarray, k: int, min_score: float | None = None) -> list[Passage]:
        """The k items most similar to a query text (needs an embedder) or a unit query vector."""
        if k <= 0 or not self.items:
            return []
        if isinstance(query, str):
            if self.embedder is None:
                raise ValueError("search by text needs KnowledgeIndex.load(index_dir, embedder=...)")
            query = self.embedder.embed_query(query)
        vector = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if vector.shape[1] != self.dimension:
            raise ValueError(f"query vector has {vector.shape[1]} dimensions, the index {self.dimension}")
        scores, rows = self._vectors.search(vector, min(k, len(self.items)))
        passages = []
        for score, row in zip(scores[0], rows[0]):
            if row < 0 or (min_score is not None and score < min_score):
                continue
            item = self.items[row]
            passages.append(Passage(text=item["text"], source=item.get("source", ""),
                                    run_ids=tuple(item.get("run_ids") or ()), score=float(score),
                                    path=item.get("path") or "", heading=item.get("heading") or ""))
        return passages


def _previous_vectors(index_dir: Path, info: ModelInfo) -> tuple[dict[str, np.ndarray], set[str]]:
    """fingerprint -> vector and the item keys of the live version, when it used the same model."""
    try:
        previous = KnowledgeIndex.load(index_dir)
    except IndexUnavailable as err:
        log.info("building from scratch: %s", err)
        return {}, set()
    keys = {item.get("key", "") for item in previous.items}
    if not _same_model(previous.manifest, info):
        log.info("embedding model changed (%s -> %s): re-embedding everything",
                 previous.manifest.get("embedding_model"), info.name)
        return {}, keys
    matrix = previous.vectors()
    reusable = {}
    for row, item in enumerate(previous.items):
        vector_id = item.get("vector_key") or item.get("fingerprint")
        if vector_id:
            reusable[vector_id] = matrix[row]
    return reusable, keys


def _embed(embedder: Embedder, texts: Sequence[str], progress: bool) -> np.ndarray:
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    step = embedder.batch_size
    with tqdm(total=len(texts), unit="text", desc="embedding", disable=not progress or not texts) as bar:
        for start in range(0, len(texts), step):
            batch = texts[start:start + step]
            out[start:start + len(batch)] = embedder.embed(batch)
            bar.update(len(batch))
    return out


def _write_version(tmp: Path, cards: Sequence[Card], matrix: np.ndarray, manifest: dict[str, Any]) -> None:
    flat = faiss.IndexFlatIP(manifest["dimension"])
    if len(cards):
        flat.add(matrix)
    faiss.write_index(flat, str(tmp / VECTORS))
    with open(tmp / ITEMS, "w", encoding="utf-8") as fh:
        for card in cards:
            fh.write(json.dumps({"key": card.key, "text": card.text, "source": card.source,
                                 "run_ids": list(card.run_ids), "path": card.path, "heading": card.heading,
                                 "fingerprint": card.fingerprint, "vector_key": card.vector_id}) + "\n")
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    for name in (VECTORS, ITEMS, MANIFEST):
        fsync_file(tmp / name)


def _runs_of(store: ManifestStore) -> RunSnapshot:
    return shared_runs(store.path).snapshot()


def build(store: ManifestStore | str | os.PathLike, kb_dir: str | os.PathLike | None,
          index_dir: str | os.PathLike, embedder: Embedder, *, chunking: Chunking,
          progress: bool = True) -> BuildReport:
    """Build (incrementally) and atomically publish a new index version; see the module docstring.

    Raises StoreError for an unusable DB and NotADirectoryError for a missing knowledge folder;
    any exception leaves the previous version live.
    """
    started = time.perf_counter()
    store = store if isinstance(store, ManifestStore) else ManifestStore(store)
    index_dir = Path(index_dir)
    loaded = _runs_of(store)
    cards = run_cards(loaded.runs)
    run_items = len(cards)
    docs = None
    if kb_dir is not None:
        kb_dir = Path(kb_dir)
        if not kb_dir.is_dir():
            raise NotADirectoryError(f"knowledge folder {kb_dir} not found; create it or pass --kb DIR")
        docs = document_cards(kb_dir, chunking)
        cards.extend(docs.cards)
    reusable, old_keys = _previous_vectors(index_dir, embedder.info)
    pending = {c.vector_id: c.text_to_embed for c in cards if c.vector_id not in reusable}
    todo = sorted(pending.items(), key=lambda item: (len(item[1]), item[0]))  # similar lengths batch well
    fresh = _embed(embedder, [text for _, text in todo], progress)
    by_vector_id = {**reusable, **{key: fresh[i] for i, (key, _) in enumerate(todo)}}
    matrix = np.zeros((len(cards), embedder.dimension), dtype=np.float32)
    for row, card in enumerate(cards):
        matrix[row] = by_vector_id[card.vector_id]
    notes = sum(1 for c in cards[:run_items] if c.source == "run")
    manifest = {
        "format": INDEX_FORMAT,
        "embedding_model": embedder.info.name,
        "embedding_config_hash": embedder.info.config_hash,
        "dimension": embedder.info.dimension,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "db": str(store.path),
        "kb_dir": str(kb_dir) if kb_dir is not None else "",
        "chunking": {"chars": chunking.chars, "overlap": chunking.overlap},
        "counts": {"items": len(cards), "runs": len(loaded.runs), "notes": notes,
                   "summaries": run_items - notes, "doc_chunks": len(docs.cards) if docs else 0,
                   "documents": len(docs.file_fingerprints) if docs else 0},
        "sources": {**_run_sources(cards[:run_items]), "docs": dict(docs.file_fingerprints) if docs else {}},
    }
    tmp = new_build_dir(index_dir)
    try:
        _write_version(tmp, cards, matrix, manifest)
        version = publish(index_dir, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    new_keys = {c.key for c in cards}
    return BuildReport(embedded=len(todo), reused=sum(1 for c in cards if c.vector_id in reusable),
                       removed=len(old_keys - new_keys), runs=len(loaded.runs), notes=notes,
                       summaries=run_items - notes, doc_chunks=len(docs.cards) if docs else 0,
                       documents=len(docs.file_fingerprints) if docs else 0,
                       skipped_runs=loaded.skipped, skipped_documents=docs.skipped if docs else (),
                       seconds=time.perf_counter() - started, version_dir=str(version))


def _run_sources(cards: Sequence[Card]) -> dict[str, dict[str, str]]:
    """What the runs contributed, for staleness checks: run id -> note card fingerprint, summary key -> fingerprint."""
    return {"notes": {c.run_ids[0]: c.fingerprint for c in cards if c.source == "run"},
            "summaries": {c.key: c.fingerprint for c in cards if c.source == "summary"}}


def _diff(old: dict[str, str], new: dict[str, str]) -> tuple[int, int, int]:
    added = len(new.keys() - old.keys())
    removed = len(old.keys() - new.keys())
    changed = sum(1 for key in new.keys() & old.keys() if new[key] != old[key])
    return added, changed, removed


def check(store: ManifestStore | str | os.PathLike, kb_dir: str | os.PathLike | None,
          index_dir: str | os.PathLike, model: ModelInfo | Embedder | str, *,
          chunking: Chunking) -> list[str]:
    """Problems with the index, one readable line each naming the fix; [] when it is current."""
    return [problem.message for problem in problems(store, kb_dir, index_dir, model, chunking=chunking)]


def problems(store: ManifestStore | str | os.PathLike, kb_dir: str | os.PathLike | None,
             index_dir: str | os.PathLike, model: ModelInfo | Embedder | str, *,
             chunking: Chunking) -> list[IndexUnavailable | StoreError]:
    """`check`'s problems as errors with a code (index_missing, index_stale, or the DB's), for the window."""
    index_dir = Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except IndexUnavailable as err:
        return [err]
    info = model.info if isinstance(model, Embedder) else model
    found: list[IndexUnavailable | StoreError] = []
    name = info if isinstance(info, str) else info.name
    built = manifest.get("embedding_model")
    if built != name or (isinstance(info, ModelInfo) and manifest.get("embedding_config_hash")
                         != info.config_hash):
        found.append(IndexUnavailable("index_stale", f"knowledge index at {index_dir} was built with embedding model "
                                      f"{built}, but the configured model is {name}; rebuild it with: {FIX}"))
    if isinstance(info, ModelInfo) and manifest.get("dimension") != info.dimension:
        found.append(IndexUnavailable("index_stale", f"knowledge index at {index_dir} holds "
                                      f"{manifest.get('dimension')}-d vectors, but the configured model makes "
                                      f"{info.dimension}-d ones; rebuild it with: {FIX}"))
    sources = manifest.get("sources") or {}
    changes = []
    store = store if isinstance(store, ManifestStore) else ManifestStore(store)
    try:
        now = _run_sources(run_cards(_runs_of(store).runs))
    except StoreError as err:
        found.append(err)
    else:
        for what in ("notes", "summaries"):
            added, changed, removed = _diff(sources.get(what) or {}, now[what])
            if added or changed or removed:
                changes.append(f"{what} {added} new, {changed} changed, {removed} removed")
    if kb_dir is not None and Path(kb_dir).is_dir():
        added, changed, removed = _diff(sources.get("docs") or {}, document_fingerprints(Path(kb_dir), chunking))
        if added or changed or removed:
            changes.append(f"documents {added} new, {changed} changed, {removed} removed")
    if changes:
        found.append(IndexUnavailable("index_stale", f"knowledge index at {index_dir} is stale ({'; '.join(changes)} "
                                      f"since {manifest.get('built_at', 'its build')}); rebuild it with: {FIX}"))
    return found
