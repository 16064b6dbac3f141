"""Scores the query layer on the lab suite of issue 17: six run DBs made by the real producers (scikit-learn,
W&B, MLflow, Keras history lines, Lightning via TensorBoard, Trainer-style runs in MLflow) and read through
labvoice's importers, >= 500 generated questions plus the held-out set. Prints one table (overall, per
operator, per DB, held-out, fresh held-out) or, with --json, the whole summary with the failures.

    python scripts/evaluate_lab.py [--json] [--split suite|heldout|heldout_fresh|both] [--no-embedder] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path



def _table(summary: dict) -> str:
    lines = []
    for split, fig in summary.items():
        lines.append(f"{split}: {fig['accuracy']:.1%} of {fig['questions']} | invented ids {fig['invented_run_ids']} | "
                     f"dropped constraints {fig['dropped_constraints']} | parse+query p50 {fig['parse_query_ms_p50']} ms")
        for group in ("per_operator", "per_db"):
            for label, row in fig[group].items():
                lines.append(f"  {group[4:]:<9} {label:<16} {row['accuracy']:>7.1%}  (n={row['n']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    parser.add_argument("--split", choices=("suite", "heldout", "heldout_fresh", "both"), default="both")
    parser.add_argument("--no-embedder", action="store_true", help="cue words only, no MiniLM")
    parser.add_argument("--keep", type=Path, help="build the DBs in DIR and keep them")
    args = parser.parse_args(argv)

    from labvoice.evaluation.lab_score import run_lab_suite

    embedder = None
    if not args.no_embedder:
        from labvoice.config import load_config
        from labvoice.hardware import apply_thread_budget
        from labvoice.knowledge.embedder import Embedder

        config = load_config()
        apply_thread_budget(config.threads)
        embedder = Embedder.from_config(config)
    with tempfile.TemporaryDirectory(prefix="labvoice-lab-suite-") as tmp:
        summary, _ = run_lab_suite(args.keep or Path(tmp), embedder, split=args.split)
    print(json.dumps(summary, indent=1, default=str) if args.json else _table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
