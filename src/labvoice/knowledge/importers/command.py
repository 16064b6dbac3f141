"""`python main.py import KIND SOURCE [--db PATH]`: the command line of the importers.

Curves go to the config's `paths.artifacts`, or, with --db, to an `artifacts` folder beside that DB
(the demo's layout: data/runs.db and data/artifacts), unless --artifacts says otherwise.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from labvoice.knowledge.importers import IMPORTERS, import_runs

SOURCES = {
    "mlflow": "a local mlruns folder, a sqlite:///path/mlflow.db tracking URI or an http:// tracking server",
    "wandb": "a wandb folder, or one run folder in it (run-* / offline-run-*)",
    "tensorboard": "a folder with TensorBoard event files (one run per folder of events.out.tfevents.*)",
    "csv": "a CSV file, one run per row (see the --*-col options)",
    "jsonl": "a JSONL file, one run per line (see the --*-col options)",
}
MAX_SKIPPED_SHOWN = 5


def add_parser(sub, common) -> None:
    """The `import` subcommand, on the CLI's subparsers (`common` adds the shared --config)."""
    kinds = "; ".join(f"{kind}: {what}" for kind, what in SOURCES.items())
    p = common(sub.add_parser("import", help="bring in runs from MLflow, W&B, TensorBoard or a run table",
                              description=f"SOURCE by KIND - {kinds}. Importing again updates the runs "
                                          "and never duplicates them; run notes are kept."))
    p.add_argument("kind", choices=sorted(IMPORTERS), metavar="KIND", help=", ".join(sorted(IMPORTERS)))
    p.add_argument("source", metavar="SOURCE", help="where the runs are (see above)")
    p.add_argument("--db", help="manifests DB to import into (default from config)")
    p.add_argument("--artifacts", help="folder for the imported metric curves (default: beside the DB)")
    p.add_argument("--no-curves", action="store_true", help="mlflow: skip metric histories (faster)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    table = p.add_argument_group("csv / jsonl column map (default: guessed from common column names)")
    for name in ("id", "dataset", "model", "time", "note"):
        table.add_argument(f"--{name}-col", help=f"the column holding the run's {name}")
    table.add_argument("--metric-cols", help="comma-separated metric columns (final values)")
    table.add_argument("--param-cols", help="comma-separated parameter columns")
    p.set_defaults(func=cmd_import)


def _options(args) -> dict:
    if args.kind in ("csv", "jsonl"):
        def cols(text):
            return tuple(c.strip() for c in text.split(",") if c.strip()) if text else None

        return {"id_col": args.id_col, "dataset_col": args.dataset_col, "model_col": args.model_col,
                "time_col": args.time_col, "note_col": args.note_col, "metric_cols": cols(args.metric_cols),
                "param_cols": cols(args.param_cols)}
    if args.kind == "mlflow":
        return {"curves": not args.no_curves}
    return {}


def cmd_import(args) -> int:
    from labvoice.config import load_config

    config = load_config(args.config)
    db = Path(args.db).resolve() if args.db else config.paths.db
    if args.artifacts:
        artifacts = Path(args.artifacts).resolve()
    else:
        artifacts = db.parent / "artifacts" if args.db else config.paths.artifacts
    report = import_runs(args.kind, args.source, db, artifacts, progress=not args.quiet and sys.stderr.isatty(),
                         **_options(args))
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print(report.summary())
        for skipped in report.skipped[:MAX_SKIPPED_SHOWN]:
            print(f"  skipped {skipped.what}: {skipped.why}")
        if len(report.skipped) > MAX_SKIPPED_SHOWN:
            print(f"  ... and {len(report.skipped) - MAX_SKIPPED_SHOWN} more skipped (--json lists them all)")
    return 0
