"""Build or refresh the knowledge index (documents, dataset/model summaries, run notes) incrementally.

    python scripts/build_index.py [--db PATH] [--kb DIR] [--index DIR] [--config FILE] [--no-progress]

Defaults come from the config (paths.db, paths.knowledge_base, paths.index), so the bare command
rebuilds the configured knowledge base. Prints one summary line. New runs need no rebuild to be
answered (facts come from SQL); rebuild after notes or documents change. Bad input (a DB that is not
a labvoice SQLite manifests DB, a missing folder, a bad config) prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from labvoice.config import ConfigError, load_config
from labvoice.hardware import apply_thread_budget
from labvoice.knowledge.cards import Chunking
from labvoice.knowledge.embedder import Embedder, EmbedderError, export_onnx
from labvoice.knowledge.index import build
from labvoice.knowledge.store import ManifestStore, StoreError
from labvoice.models import ModelMissing

log = logging.getLogger("labvoice.scripts.build_index")

EXIT_BAD_INPUT = 2


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="manifests DB (default: config paths.db)")
    parser.add_argument("--kb", type=Path, help="knowledge-base folder (default: config paths.knowledge_base)")
    parser.add_argument("--index", type=Path, help="index folder (default: config paths.index)")
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        chunking = Chunking.from_config(config.knowledge)
    except (ConfigError, ValueError) as err:
        return _fail(str(err))
    apply_thread_budget(config.threads)
    logging.basicConfig(level=config.logging.level, format="%(levelname)s %(name)s: %(message)s")
    db = args.db or config.paths.db
    kb = args.kb or config.paths.knowledge_base
    index_dir = args.index or config.paths.index
    store = ManifestStore(db)
    try:
        store.check()
    except StoreError as err:
        return _fail(str(err))
    if not kb.is_dir():
        return _fail(f"knowledge folder {kb} not found; create it or pass --kb DIR")
    if index_dir.exists() and not index_dir.is_dir():
        return _fail(f"index path {index_dir} is a file, not a folder; pass --index DIR")
    try:
        export_onnx(config)   # once: the app then embeds through onnxruntime (~300 MB less, same vectors)
        embedder = Embedder.from_config(config)
    except (ModelMissing, EmbedderError) as err:
        return _fail(str(err))
    try:
        report = build(store, kb, index_dir, embedder, chunking=chunking, progress=not args.no_progress)
    except (StoreError, NotADirectoryError) as err:
        return _fail(str(err))
    for line in report.skipped_documents:
        print(f"warning: {line}", file=sys.stderr)
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
