"""The Retriever's passage source: the live FAISS index, reloaded when a rebuild publishes a new
version (the `CURRENT` pointer changes), so the index can be rebuilt while the app runs.

A missing, corrupt or stale index is never fatal: it yields warnings, and answers come from the
SQL facts alone until it is rebuilt.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from labvoice.knowledge.index import IndexUnavailable, KnowledgeIndex, Passage
from labvoice.knowledge.versioned_dir import POINTER

log = logging.getLogger(__name__)


class LiveIndex:
    """Searches the index version that is live now; swaps to a new one between searches."""

    def __init__(self, index_dir: Path, embedder) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self._lock = threading.Lock()
        self._index: KnowledgeIndex | None = None
        self._pointer_stamp: tuple | None = None
        self.last_error = ""

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(self.index_dir / POINTER)
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            return None

    def current(self) -> KnowledgeIndex:
        with self._lock:
            stamp = self._stamp()
            if self._index is None or stamp != self._pointer_stamp:
                try:
                    self._index = KnowledgeIndex.load(self.index_dir, self.embedder)
                    self.last_error = ""
                except IndexUnavailable as err:
                    self._index = None
                    self.last_error = str(err)
                    self._pointer_stamp = stamp
                    raise
                self._pointer_stamp = stamp
                log.info("knowledge index loaded: %d items from %s", len(self._index), self._index.directory)
            return self._index

    def search_text(self, text: str, k: int) -> list[Passage]:
        return self.current().search_text(text, k)


def open_passage_source(config, warnings: list[str]) -> LiveIndex | None:
    """The live index, or None when the embedder cannot load. Problems become warning lines."""
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.embedder import Embedder, EmbedderError
    from labvoice.knowledge.index import check

    try:
        embedder = Embedder.from_config(config)
    except (EmbedderError, FileNotFoundError) as err:
        warnings.append(f"embedding model unavailable ({err}); answering from the run DB only")
        return None
    live = LiveIndex(config.paths.index, embedder)
    try:
        live.current()
    except IndexUnavailable as err:
        warnings.append(f"{err}; answering from the run DB only")
        return live  # a later rebuild is picked up without a restart
    try:
        warnings.extend(check(config.paths.db, config.paths.knowledge_base, config.paths.index, embedder,
                              chunking=Chunking.from_config(config.knowledge)))
    except Exception as err:  # the check is advice; it must not stop the app
        log.warning("index check failed: %s", err)
    return live
