"""Score the assistant on a scenario file: run ids right, mentions, hallucinations, latency (and STT
word error rate by voice). Writes report.md, a chart and summary.json.

    python scripts/evaluate.py --scenarios scenarios/demo.yaml --db data/runs.db \
        [--voice] [--report DIR] [--config FILE] [--json] [--index DIR | --no-index] \
        [--verbosity 0..1] [--min-accuracy 0.9] [--max-hallucinations 0]

Text mode asks the GroundedAnswerer directly (models loaded once); `--voice` has Piper speak each
question into a WAV and runs the whole pipeline on it (VAD, STT, answer, TTS). The DB is never
touched: questions run against a copy whose checksum is taken before and after each one, and a
question that changes data fails the run. Without --index, a fresh index of the DB and the
configured knowledge base is built in a temporary folder, so passages match the runs asked about.

    python scripts/evaluate.py --query-suite [--db data/runs.db] [--json] [--no-embedder]

`--query-suite` scores the query layer alone (parse + execute, no LLM) on the generated question
suite over three DBs it builds (the demo DB given by --db, or data/runs.db when it exists, plus two
written by plain sqlite3), with ground truth computed independently; it reports accuracy overall, per
query shape and per phrasing style, the held-out accuracy and the invented run ids, and fails (exit 1)
below 95 % overall or 85 % for any shape, or on any invented run id.

Exit codes: 0 passed, 1 a threshold was missed or data changed, 2 bad input (config, DB, scenarios).
"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from labvoice.config import PROJECT_ROOT, ConfigError, load_config
from labvoice.knowledge.store import copy_db  # noqa: F401 - also re-exported for other tests
from labvoice.evaluation.expect import ExpectationError, read_rows
from labvoice.evaluation.report import summarize, write_report
from labvoice.evaluation.runner import TextAsker, VoiceAsker, evaluate, expectation
from labvoice.evaluation.scenarios import ScenarioError, load_scenarios
from labvoice.knowledge.store import ManifestStore, StoreError
from labvoice.style import Style

EXIT_OK, EXIT_THRESHOLD, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_REPORT_DIR = PROJECT_ROOT / "data" / "evaluation"

log = logging.getLogger("labvoice.scripts.evaluate")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, help="scenario file (.yaml or .jsonl)")
    parser.add_argument("--query-suite", action="store_true",
                        help="score the query layer on the generated 3-DB question suite (no LLM)")
    parser.add_argument("--no-embedder", action="store_true", help="with --query-suite: cue words only, no MiniLM")
    parser.add_argument("--db", type=Path, help="manifests DB (default: config paths.db)")
    parser.add_argument("--voice", action="store_true", help="speak each question and run the whole pipeline")
    parser.add_argument("--report", type=Path, help=f"output folder (default: {DEFAULT_REPORT_DIR}/<mode>)")
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    index = parser.add_mutually_exclusive_group()
    index.add_argument("--index", type=Path, help="use this knowledge index as it is")
    index.add_argument("--no-index", action="store_true", help="answer from the SQL facts only")
    parser.add_argument("--verbosity", type=float, help="style verbosity 0..1 (default: config style)")
    parser.add_argument("--min-accuracy", type=float, help="fail (exit 1) below this answer accuracy, 0..1")
    parser.add_argument("--max-hallucinations", type=int, help="fail (exit 1) above this many hallucinations")
    return parser.parse_args(argv)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT



def build_temp_index(config, db: Path, folder: Path) -> Path:
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.embedder import Embedder
    from labvoice.knowledge.index import build

    index_dir = folder / "index"
    kb = config.paths.knowledge_base if config.paths.knowledge_base.is_dir() else None
    report = build(db, kb, index_dir, Embedder.from_config(config),
                   chunking=Chunking.from_config(config.knowledge), progress=False)
    print(report.summary(), file=sys.stderr)
    return index_dir


def _progress(result, done: int, total: int) -> None:
    mark = "skip" if result.skipped else ("ok" if result.right and not result.hallucinations else "WRONG")
    took = f"{result.total_ms:.0f} ms" if result.total_ms is not None else "-"
    print(f"[{done}/{total}] {mark:5} {result.id} ({took})", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None, brain_loader: Callable | None = None,
         stages_loader: Callable | None = None) -> int:
    """`brain_loader(config)` / `stages_loader(config)` load the models (tests pass loaders that
    share already loaded ones); defaults: labvoice.app.load_brain and Stages.load."""
    args = parse_args(argv)
    if args.query_suite:
        return query_suite(args)
    if args.scenarios is None:
        return _fail("give --scenarios FILE (or --query-suite)")
    try:
        config = load_config(args.config)
        scenarios = load_scenarios(args.scenarios)
        style = Style.from_config(config.style)
        if args.verbosity is not None:
            style = replace(style, verbosity=args.verbosity)
    except (ConfigError, ScenarioError, ValueError) as err:
        return _fail(str(err))
    db = (args.db or config.paths.db).resolve()
    try:
        ManifestStore(db).check()
        rows = read_rows(db)
        for scenario in scenarios:
            expectation(scenario, rows)
    except (StoreError, ExpectationError, sqlite3.DatabaseError) as err:
        return _fail(str(err))
    mode = "voice" if args.voice else "text"
    report_dir = args.report or DEFAULT_REPORT_DIR / mode
    with tempfile.TemporaryDirectory(prefix="labvoice-eval-") as tmp:
        work = Path(tmp)
        db_copy = copy_db(db, work / "runs.db")
        if args.index:
            index_dir = args.index.resolve()
        elif args.no_index:
            index_dir = work / "no-index"
        else:
            index_dir = build_temp_index(config, db_copy, work)
        config = config.replace(**{"paths.db": db_copy, "paths.index": index_dir, "paths.logs": work / "logs"})
        started = time.perf_counter()
        if args.voice:
            from labvoice.pipeline.stages import Stages

            loaded = (stages_loader or Stages.load)(config)
            asker = VoiceAsker(loaded, style, work / "questions")
        else:
            from labvoice.app import load_brain

            loaded = (brain_loader or load_brain)(config)
            asker = TextAsker(loaded, style)
        print(f"models ready in {time.perf_counter() - started:.1f} s; {len(scenarios)} scenarios ({mode})",
              file=sys.stderr, flush=True)
        try:
            results = evaluate(scenarios, asker, db_copy, voice=args.voice, progress=_progress)
        finally:
            if not (brain_loader or stages_loader):   # models a caller lent us are the caller's to close
                loaded.close()
    summary = summarize(results, mode=mode, db=str(db), scenarios_file=str(args.scenarios),
                        min_accuracy=args.min_accuracy, max_hallucinations=args.max_hallucinations)
    paths = write_report(summary, report_dir)
    if args.json:
        print(json.dumps(summary))
    else:
        lat = summary["latency_ms"]
        print(f"accuracy {summary['accuracy']}, mentions {summary['mention_accuracy']}, hallucinations "
              f"{summary['hallucinations']}, first p50/p95 {lat['first']['p50']}/{lat['first']['p95']} ms"
              + (f", WER mean {summary['wer']['mean']}" if args.voice else "") + f"; report: {paths['report']}")
    for failure in summary["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return EXIT_OK if summary["passed"] else EXIT_THRESHOLD


def query_suite(args: argparse.Namespace) -> int:
    """Parse + execute every suite question (no LLM) and score it against independent ground truth."""
    from labvoice.evaluation.query_score import MIN_OVERALL, MIN_PER_SHAPE, run_suite

    try:
        config = load_config(args.config)
    except (ConfigError, ValueError) as err:
        return _fail(str(err))
    demo = args.db or (config.paths.db if config.paths.db.exists() else None)
    if demo is not None:
        try:
            ManifestStore(demo).check()
        except StoreError as err:
            return _fail(str(err))
    embedder = None
    if not args.no_embedder:
        from labvoice.hardware import apply_thread_budget
        from labvoice.knowledge.embedder import Embedder, EmbedderError

        apply_thread_budget(config.threads)
        try:
            embedder = Embedder.from_config(config)
        except (EmbedderError, FileNotFoundError) as err:
            return _fail(f"{err} (or pass --no-embedder)")
    with tempfile.TemporaryDirectory(prefix="labvoice-query-suite-") as tmp:
        work = Path(tmp)
        if demo is not None:
            demo = copy_db(demo, work / "demo.db")
        try:
            summary, _ = run_suite(work / "dbs", demo, embedder)
        except ValueError as err:
            return _fail(str(err))
    mine = summary["suite"]
    failures = [f"{shape}: {fig['accuracy']:.1%} < {MIN_PER_SHAPE:.0%}" for shape, fig in mine["per_shape"].items()
                if fig["accuracy"] < MIN_PER_SHAPE]
    if mine["accuracy"] < MIN_OVERALL:
        failures.append(f"overall {mine['accuracy']:.1%} < {MIN_OVERALL:.0%}")
    invented = sum(split["invented_run_ids"] for split in summary.values())
    if invented:
        failures.append(f"{invented} invented run ids")
    summary["passed"] = not failures
    if args.json:
        print(json.dumps(summary))
    else:
        for split, figures in summary.items():
            if not isinstance(figures, dict):
                continue
            shapes = ", ".join(f"{k} {v['accuracy']:.0%} ({v['n']})" for k, v in figures["per_shape"].items())
            print(f"{split}: {figures['accuracy']:.1%} of {figures['questions']} right, invented ids "
                  f"{figures['invented_run_ids']}, parse p50 {figures['parse_ms_p50']} ms, answer p50 "
                  f"{figures['answer_ms_p50']} ms; per DB {figures['per_db']}\n  per shape: {shapes}")
        for f in mine["failures"]:
            print(f"WRONG {f['id']}: {f['question']} -> {f['why']}", file=sys.stderr)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return EXIT_OK if not failures else EXIT_THRESHOLD


if __name__ == "__main__":
    sys.exit(main())
