"""Benchmark the knowledge layer on a generated 100,000-run DB and on the demo DB.

    python scripts/bench_knowledge.py [--json] [--runs 100000] [--db PATH] [--rounds 2] [--ask-rounds 3]

Large DB (`--runs`, written by scripts/synthetic_runs.py with plain sqlite3 in the documented schema:
a dozen datasets, three model families with 5-9 parameters, ~1 % of runs with a note; or an existing
DB with `--db`). Measured, in this order, in this process unless said otherwise:
- runs loaded/s: a cold `LiveRuns` load (every row parsed), and a refresh after one new run (every
  row scanned, one parsed);
- index build: a real full `build()` from scratch (documents + summaries + notes), then an
  incremental rebuild after one new note;
- typed questions: `GroundedAnswerer.answer` (what `ask --text` runs; facts first; the LLM is not
  asked for remarks: the answer is cut once the first piece is out) over TYPED_QUESTIONS x --rounds;
  first speakable piece p50/p90, and the Retriever's own split (parse, facts, passages) where it
  reports one;
- new run visible: a run inserted with plain sqlite3 (a new best on one dataset), then the same
  question asked until its first piece names that run: seconds from the commit, median of 3;
- peak RSS with all voice-pipeline models loaded (VAD, Whisper, MiniLM, the LLM, Piper) and the
  large DB's runs in memory: a fresh subprocess loads the pipeline's stages, answers questions,
  synthesizes and transcribes one sentence, and reports its ru_maxrss.
Demo DB (the configured paths.db and index, `--ask-rounds`, 0 = skip): `ask --text` first speakable
piece and full answer (LLM remarks included) p50, as before.
With --json the last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from synthetic_runs import write_db  # scripts/ is on sys.path when this file runs as a script

from labvoice.config import ConfigError, load_config
from labvoice.hardware import apply_thread_budget, device_summary

DEFAULT_RUNS = 100_000
DEFAULT_ROUNDS = 2
DEFAULT_ASK_ROUNDS = 3
VISIBLE_TRIES = 3
VISIBLE_TIMEOUT_S = 30.0
TYPED_QUESTIONS = ("Which run had the best validation accuracy on digits?",
                   "What are the top three runs by validation F1 on wine?",
                   "Which runs are flagged for publishing?",
                   "Which run has the lowest training loss?",
                   "What is the most recent run?",
                   "How many runs used a random forest?",
                   "Which runs diverged?",
                   "Which mlp run on mnist has the highest test accuracy?",
                   "Which run took the longest to train?",
                   "What is the average validation accuracy of gradient boosting on covertype?",
                   "Which learning rate gave the best validation loss for gradient boosting on iris?",
                   "What should I check before publishing a result?")
ASK_QUESTIONS = ("Which run had the best validation accuracy on digits?", "What are the top three runs by "
                 "validation F1 on wine?", "Which runs are flagged for publishing?", "Which run has the lowest "
                 "training loss?", "What is the most recent run?", "How many runs used a perceptron?",
                 "Which runs diverged?", "Hello, how are you?")
VISIBLE_DATASET = "naval_propulsion"
RSS_PROBE_SENTENCE = "Which run had the best validation accuracy on digits?"


def peak_rss_mib() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)  # bytes on macOS, KiB on Linux


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _first_piece(answerer, question: str) -> tuple[float, str, dict]:
    """(ms to the first speakable piece, the run ids and display text of the answer, retrieval
    timings) with the LLM not asked for remarks."""
    from labvoice.cancel import CancelToken
    from labvoice.style import Style

    cancel = CancelToken()
    stream = answerer.answer(question, Style(), cancel, until_voiced=cancel.cancel)
    first = next(iter(stream), "")
    cancel.cancel()
    result = stream.finish()
    ms = result.latency_ms()
    timings = dict(result.retrieval.timings_ms) if result.retrieval is not None else {}
    shown = " ".join(result.used_run_ids) + " " + getattr(result, "display", "") + " " + first
    return ms.get("first_chunk", ms.get("llm_done", 0.0)), shown, timings


def bench_loading(db: Path) -> dict[str, Any]:
    from labvoice.knowledge.live_runs import LiveRuns

    live = LiveRuns(db)
    cpu = time.process_time()
    cold = live.snapshot()
    cold_cpu = time.process_time() - cpu
    _insert_run(db, "loadprobe01", "iris", 0.5)
    cpu = time.process_time()
    warm = live.snapshot()
    warm_cpu = time.process_time() - cpu
    vocab_started = time.perf_counter()
    warm.vocab  # noqa: B018 - built once per DB change
    vocab_s = time.perf_counter() - vocab_started
    return {"runs": len(cold.runs), "skipped": cold.skipped, "cold_load_s": cold.stats.seconds,
            "cold_load_cpu_s": cold_cpu, "runs_loaded_per_s": len(cold.runs) / cold.stats.seconds,
            "refresh_after_one_new_run_s": warm.stats.seconds, "refresh_cpu_s": warm_cpu,
            "refresh_parsed": warm.stats.parsed,
            "vocabulary_s": vocab_s}


def bench_index(db: Path, index_dir: Path, config) -> dict[str, Any]:
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.embedder import Embedder, export_onnx
    from labvoice.knowledge.index import build
    from labvoice.knowledge.live_runs import shared_runs
    from labvoice.knowledge.store import ManifestStore

    export_onnx(config)   # as build_index.py does
    embedder = Embedder.from_config(config)
    chunking = Chunking.from_config(config.knowledge)
    kb = config.paths.knowledge_base
    cpu = time.process_time()
    full = build(db, kb, index_dir, embedder, chunking=chunking, progress=False)
    full_cpu = time.process_time() - cpu
    run_id = next(r.run_id for r in shared_runs(db).snapshot().runs if not r.note)
    ManifestStore(db).set_note(run_id, "checkpoint lost in the disk failure, rerun needed")
    cpu = time.process_time()
    again = build(db, kb, index_dir, embedder, chunking=chunking, progress=False)
    again_cpu = time.process_time() - cpu
    return {"method": "real full build() from scratch: runs load + summaries + notes + documents, embedding, "
                      "FAISS, fsync and swap", "build_s": full.seconds, "build_cpu_s": full_cpu,
            "items": full.total, "summaries": full.summaries, "notes": full.notes, "doc_chunks": full.doc_chunks,
            "embedded": full.embedded,
            "embedding_model": f"{embedder.name} via {embedder.backend}, batch {embedder.batch_size}",
            "incremental_after_one_note_s": again.seconds, "incremental_cpu_s": again_cpu,
            "incremental_embedded": again.embedded}


def _insert_run(db: Path, run_id: str, dataset: str, val_accuracy: float) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute("INSERT INTO manifests (run_id, timestamp, dataset_id, params_json, final_metrics_json, "
                         "artifacts_json) VALUES (?, ?, ?, ?, ?, ?)",
                         (run_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), dataset,
                          json.dumps({"model": "mlp", "init_lr": 0.001, "seed": 9}),
                          json.dumps({"val_accuracy": val_accuracy, "val_loss": 0.01}),
                          json.dumps([f"artifacts/{run_id}/metrics.csv"])))
    finally:
        conn.close()


def bench_answers(db: Path, index_dir: Path, config, rounds: int) -> dict[str, Any]:
    from labvoice.app import load_brain

    cfg = config.replace(**{"paths.db": str(db), "paths.index": str(index_dir), "llm.facts_first": True})
    started = time.perf_counter()
    brain = load_brain(cfg, "cpu")
    brain.retriever.finder()
    load_s = time.perf_counter() - started
    try:
        _first_piece(brain.answerer, TYPED_QUESTIONS[0])  # warm-up
        first, first_cpu, splits, per_question = [], [], {}, {}
        for _ in range(rounds):
            for question in TYPED_QUESTIONS:
                cpu = time.process_time()
                ms, _, timings = _first_piece(brain.answerer, question)
                first_cpu.append((time.process_time() - cpu) * 1000)
                first.append(ms)
                per_question.setdefault(question, []).append(ms)
                for name, value in timings.items():
                    splits.setdefault(name, []).append(value)
        visible, visible_cpu = [], []
        for attempt in range(VISIBLE_TRIES):
            run_id = f"visible{attempt:03d}"
            question = f"Which run had the best validation accuracy on {VISIBLE_DATASET.replace('_', ' ')}?"
            _insert_run(db, run_id, VISIBLE_DATASET, 0.99991 + attempt * 1e-5)
            committed, cpu = time.perf_counter(), time.process_time()
            while time.perf_counter() - committed < VISIBLE_TIMEOUT_S:
                _, said, _ = _first_piece(brain.answerer, question)
                if run_id in said:
                    break
            visible.append(time.perf_counter() - committed if run_id in said else float("inf"))
            visible_cpu.append(time.process_time() - cpu)
    finally:
        brain.close()
    return {"questions": len(first), "brain_load_s": load_s,
            "first_piece_p50_ms": statistics.median(first), "first_piece_p90_ms": _percentile(first, 0.9),
            "first_piece_cpu_p50_ms": statistics.median(first_cpu),
            "retrieval_split_p50_ms": {k: statistics.median(v) for k, v in splits.items()},
            "per_question_p50_ms": {q: statistics.median(v) for q, v in per_question.items()},
            "new_run_visible_s": visible, "new_run_visible_median_s": statistics.median(visible),
            "new_run_visible_cpu_median_s": statistics.median(visible_cpu),
            "peak_rss_mib_this_process": peak_rss_mib()}


def rss_probe(db: Path, index_dir: Path, config_path: Path | None) -> dict[str, Any]:
    """In a fresh process: every voice-pipeline model loaded and the DB's runs in memory."""
    from labvoice.audio.resample import resample
    from labvoice.cancel import CancelToken
    from labvoice.pipeline.stages import Stages
    from labvoice.style import Style

    config = load_config(config_path).replace(**{"paths.db": str(db), "paths.index": str(index_dir)})
    stages = Stages.load(config)
    try:
        runs = len(stages.brain.retriever.runs().runs)
        for question in TYPED_QUESTIONS[:4]:
            _first_piece(stages.brain.answerer, question)
        import numpy as np

        audio = np.concatenate(list(stages.synthesizer.synthesize(RSS_PROBE_SENTENCE, Style(), CancelToken())))
        audio16 = resample(audio, stages.synthesizer.sample_rate, 16000).astype(np.float32)
        frames = len(audio16) // 512
        speech = sum(stages.vad(audio16[i * 512:(i + 1) * 512]) > 0.5 for i in range(frames))
        heard = stages.transcribe(audio16, CancelToken())
    finally:
        stages.close()
    return {"runs_in_memory": runs, "peak_rss_mib": peak_rss_mib(), "vad_speech_frames": int(speech),
            "heard": heard}


def _run_rss_probe(db: Path, index_dir: Path, config_path: Path | None) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__)), "--rss-probe", "--db", str(db), "--index", str(index_dir), "--json"]
    if config_path:
        args += ["--config", str(config_path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_demo(config, rounds: int) -> dict[str, Any]:
    """`ask --text` on the configured (demo) DB and index: time to the first speakable piece and to
    the full answer with the LLM's remarks."""
    from labvoice.answer.grounded import Conversation
    from labvoice.app import load_brain
    from labvoice.cancel import CancelToken
    from labvoice.style import Style

    brain = load_brain(config, "cpu")
    style = Style.from_config(config.style)
    first, full, templated = [], [], 0
    try:
        for _ in range(rounds):
            for question in ASK_QUESTIONS:
                result = brain.answerer.answer(question, style, CancelToken(), Conversation()).finish()
                ms = result.latency_ms()
                first.append(ms.get("first_chunk", ms.get("llm_done", 0.0)))
                full.append(ms.get("llm_done", ms.get("first_chunk", 0.0)))
                templated += result.fallback
    finally:
        brain.close()
    return {"db": str(config.paths.db), "questions": len(first), "first_piece_p50_ms": statistics.median(first),
            "answer_p50_ms": statistics.median(full), "templated_fallbacks": templated}


def run_bench(args, config) -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": device_summary(), "python": platform.python_version(), "threads": config.threads,
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    with tempfile.TemporaryDirectory(prefix="labvoice-bench-") as folder:
        db = Path(folder) / "runs.db"
        if args.db:
            from labvoice.knowledge.store import copy_db

            copy_db(args.db, db)
            result["db"] = f"copy of {args.db}"
        else:
            result["db"] = f"{args.runs:,} synthetic runs (scripts/synthetic_runs.py)"
            result["generate_s"] = write_db(db, args.runs)
        index_dir = Path(folder) / "index"
        result["loading"] = bench_loading(db)
        result["index"] = bench_index(db, index_dir, config)
        result["answers"] = bench_answers(db, index_dir, config, args.rounds)
        if not args.skip_rss:
            result["rss_probe"] = _run_rss_probe(db, index_dir, args.config)
    if args.ask_rounds:
        result["demo"] = bench_demo(config, args.ask_rounds)
    result["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return result


def format_text(r: dict[str, Any]) -> str:
    lo, ix, an = r["loading"], r["index"], r["answers"]
    lines = [f"machine: {r['machine']}; Python {r['python']}; threads {r['threads']}; load average "
             f"{r['load_average_at_start']:.1f} at start, {r['load_average_after']:.1f} after",
             f"DB: {r['db']}" + (f", generated in {r['generate_s']:.1f} s" if "generate_s" in r else ""),
             f"runs: cold load {lo['runs']:,} in {lo['cold_load_s']:.1f} s = {lo['runs_loaded_per_s']:,.0f} runs/s "
             f"({lo['cold_load_cpu_s']:.1f} CPU-s); refresh after one new run "
             f"{lo['refresh_after_one_new_run_s'] * 1000:.0f} ms ({lo['refresh_cpu_s'] * 1000:.0f} CPU-ms, "
             f"{lo['refresh_parsed']} parsed); vocabulary {lo['vocabulary_s'] * 1000:.0f} ms",
             f"index: full build {ix['build_s']:.1f} s ({ix['build_cpu_s']:.0f} CPU-s): {ix['summaries']} summaries, "
             f"{ix['notes']} notes, {ix['doc_chunks']} doc chunks, {ix['embedded']} texts embedded; "
             f"incremental after one note {ix['incremental_after_one_note_s']:.1f} s "
             f"({ix['incremental_cpu_s']:.1f} CPU-s, {ix['incremental_embedded']} embedded)",
             f"typed questions ({an['questions']}): first piece p50 {an['first_piece_p50_ms']:.0f} ms "
             f"({an['first_piece_cpu_p50_ms']:.0f} CPU-ms), p90 {an['first_piece_p90_ms']:.0f} ms; retrieval split p50 "
             + ", ".join(f"{k} {v:.0f} ms" for k, v in an["retrieval_split_p50_ms"].items())
             + f"; brain load {an['brain_load_s']:.1f} s",
             f"new run visible after logging: median {an['new_run_visible_median_s']:.2f} s "
             f"({', '.join(f'{s:.2f}' for s in an['new_run_visible_s'])}; "
             f"{an['new_run_visible_cpu_median_s']:.2f} CPU-s)"]
    if "rss_probe" in r:
        probe = r["rss_probe"]
        lines.append(f"peak RSS, all voice models + {probe.get('runs_in_memory', 0):,} runs: "
                     f"{probe['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in probe else
                     f"RSS probe failed: {probe.get('error')}")
    if "demo" in r:
        d = r["demo"]
        lines.append(f"ask --text on {d['db']} ({d['questions']} answers): first speakable piece p50 "
                     f"{d['first_piece_p50_ms']:.0f} ms, full answer p50 {d['answer_p50_ms']:.0f} ms, "
                     f"{d['templated_fallbacks']} templated")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="synthetic runs to generate")
    parser.add_argument("--db", type=Path, help="benchmark a copy of this DB instead of a generated one")
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds of the typed questions")
    parser.add_argument("--ask-rounds", type=int, default=DEFAULT_ASK_ROUNDS,
                        help="rounds of `ask --text` questions on the configured demo DB (0 = skip)")
    parser.add_argument("--skip-rss", action="store_true", help="no peak-RSS subprocess")
    parser.add_argument("--rss-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.db is not None and not args.db.is_file():
        print(f"error: DB {args.db} not found; pass --db PATH to a manifests .db file", file=sys.stderr)
        return 2
    apply_thread_budget(config.threads)
    if args.rss_probe:
        print(json.dumps(rss_probe(args.db, args.index, args.config)))
        return 0
    result = run_bench(args, config)
    print(json.dumps(result) if args.json else format_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
