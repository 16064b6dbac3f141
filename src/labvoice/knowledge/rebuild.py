"""The one knowledge-index rebuild: `labvoice index`, `scripts/build_index.py` and the window's
Rebuild button all call `rebuild_index(config)`.

It checks the run DB and the folders first (before any model loads), exports MiniLM to ONNX once
(the app then embeds through onnxruntime), and builds the index incrementally and atomically
(`index.build`). Problems a person can fix raise `IndexBuildError` (with a `code`), `StoreError`,
`ModelMissing` or `EmbedderError`, each one line naming the fix.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from labvoice.errors import LabvoiceError

if TYPE_CHECKING:
    from labvoice.config import Config
    from labvoice.knowledge.index import BuildReport

Phase = Callable[[str], None]


class IndexBuildError(LabvoiceError, ValueError):
    """A rebuild that cannot start; `code` says which input is wrong, the message how to fix it."""

    def __init__(self, code: Literal["knowledge_folder", "index_path"], message: str) -> None:
        super().__init__(code, message)


def _no_phase(_: str) -> None:
    return None


def rebuild_index(config: "Config", *, progress: bool = False, on_phase: Phase = _no_phase) -> "BuildReport":
    """Rebuild the index at `config.paths.index` from `paths.db` and `paths.knowledge_base`.

    `on_phase` hears a short phrase before each slow step; `progress` shows a terminal bar."""
    from labvoice.config import ConfigError
    from labvoice.hardware import apply_thread_budget
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.embedder import Embedder, export_onnx
    from labvoice.knowledge.index import build
    from labvoice.knowledge.store import ManifestStore

    try:
        chunking = Chunking.from_config(config.knowledge)
    except ValueError as err:       # chunk sizes that cannot work together: a config problem
        raise ConfigError(str(err)) from None
    on_phase("checking the run DB")
    store = ManifestStore(config.paths.db)
    store.check()
    kb, index_dir = Path(config.paths.knowledge_base), Path(config.paths.index)
    if not kb.is_dir():
        raise IndexBuildError("knowledge_folder", f"knowledge folder {kb} not found; create it, or choose another "
                              "(--kb DIR, paths.knowledge_base, or Settings in the window)")
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexBuildError("index_path", f"index path {index_dir} is a file, not a folder; "
                              "choose a folder (--index DIR or paths.index)")
    apply_thread_budget(config.threads)
    on_phase("loading the embedding model")
    export_onnx(config)   # once: the app then embeds through onnxruntime (~300 MB less, same vectors)
    embedder = Embedder.from_config(config)
    on_phase("embedding new and changed runs and documents")
    return build(store, kb, index_dir, embedder, chunking=chunking, progress=progress)
