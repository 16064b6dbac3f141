"""`labvoice log [--db PATH] [--limit N] [--json]`: the record of every write the app made to your runs
(time, change number, action, run id, the note before and after, the words that asked for it), newest
first. The record lives in the table `labvoice_writes` of the manifests DB (see journal.py)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from labvoice.knowledge.journal import WriteJournal, format_record

DEFAULT_LIMIT = 50


def add_parser(sub, common) -> None:
    """The `log` subcommand, on the CLI's subparsers (`common` adds the shared --config)."""
    p = common(sub.add_parser("log", help="show the record of changes the assistant made to your runs",
                              description="Every flag, unflag, note edit and undo, newest first. "
                                          "Say 'undo that' (or press Undo in the window) to take the last one back."))
    p.add_argument("--db", help="manifests DB (default from config)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"at most this many rows (default {DEFAULT_LIMIT}; 0 = all)")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.set_defaults(func=cmd_log)


def cmd_log(args) -> int:
    from labvoice.config import load_config

    db = Path(args.db).resolve() if args.db else load_config(args.config).paths.db
    records = WriteJournal(db).records(limit=args.limit or None)
    if args.json:
        for record in records:
            print(json.dumps(asdict(record)))
        return 0
    if not records:
        print(f"No changes recorded in {db} yet.")
        return 0
    print(f"Changes to the runs in {db}, newest first:")
    for record in records:
        print("  " + format_record(record))
    return 0
