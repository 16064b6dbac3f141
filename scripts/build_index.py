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
from labvoice.knowledge.embedder import EmbedderError
from labvoice.knowledge.rebuild import IndexBuildError, rebuild_index
from labvoice.knowledge.store import StoreError
from labvoice.locations import locations
from labvoice.logfile import setup_logging
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
        overrides = {key: value for key, value in (("paths.db", args.db), ("paths.knowledge_base", args.kb),
                                                   ("paths.index", args.index)) if value is not None}
        overrides = {key: Path(value).resolve() for key, value in overrides.items()}
        config = config.replace(**overrides) if overrides else config
    except ConfigError as err:
        return _fail(str(err))
    setup_logging("WARNING", config.logging.level, locations().log_file)   # as `labvoice index` does
    try:
        report = rebuild_index(config, progress=not args.no_progress)
    except (ConfigError, IndexBuildError, StoreError, ModelMissing, EmbedderError, NotADirectoryError) as err:
        return _fail(str(err))
    for line in report.skipped_documents:
        print(f"warning: {line}", file=sys.stderr)
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
