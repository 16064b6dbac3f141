"""Benchmark the knowledge layer: run logging, index build throughput, query latency, peak memory.

    python scripts/bench_knowledge.py [--json] [--sizes 1000 10000] [--full] [--embed-sample N]

For each size N, N synthetic runs are logged into a temporary DB by calling a trivial
`log_run`-decorated function N times (the real decorator: one connection and one committed
transaction per run). Then:
- sizes up to --full-limit (default 1,000), or every size with --full: a real full `build()` of the
  index over all N run cards; cards/s = N / build seconds (store load, cards, embedding, FAISS,
  fsync and swap all included). Queries run against that index.
- larger sizes without --full: embedding all N cards would take minutes on 2 CPU cores, so the
  script measures the parts and says so in its output: store load + card building over all N runs
  (real), embedding of an evenly spread sample of --embed-sample cards (real), FAISS add + write of
  N vectors, and query latency on a flat index of N vectors made by repeating the sample's real
  vectors (a flat index's search cost depends only on count x dimension). The full-build figure is
  then a projection, labelled as such.
Query latency = embedding the question + FAISS search (+ `extra_query_fn`, see the HOOK below),
p50/p95 over --queries questions after a warm-up. Peak RSS comes from resource.getrusage.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import faiss
import numpy as np

from labvoice.config import ConfigError, load_config
from labvoice.hardware import apply_thread_budget, device_summary
from labvoice.knowledge.cards import Chunking, run_cards
from labvoice.knowledge.embedder import Embedder
from labvoice.knowledge.index import KnowledgeIndex, build
from labvoice.knowledge.log_run import log_run
from labvoice.knowledge.store import ManifestStore

DEFAULT_SIZES = (1000, 10000)
DEFAULT_FULL_LIMIT = 1000
DEFAULT_EMBED_SAMPLE = 1000
DEFAULT_QUERIES = 100
WARMUP_QUERIES = 3
SYNTH_SEED = 0
DATASETS = ("digits", "iris", "wine", "breast_cancer", "cifar10", "mnist", "imdb", "sst2")
MODELS = ("logistic_regression", "linear_svm", "perceptron", "random_forest", "mlp")
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.1)
PUBLISH_EVERY = 50           # every 50th synthetic run carries the PUBLISH note ...
DIVERGED_EVERY = 37          # ... and every 37th a divergence note, as in real DBs
QUESTIONS = ("best random forest run on digits", "which mlp runs diverged?", "compare the linear svm runs on wine",
             "lowest val_loss on breast cancer", "runs with learning rate 0.01", "what is the publishing checklist",
             "most recent perceptron run", "logistic regression on iris with seed 3", "which run is flagged publish",
             "how do we split the data", "val_f1 of the best cifar10 model", "how many runs used mnist")


DEFAULT_ASK_ROUNDS = 3


def extra_query_fn_factory(db: Path) -> Callable[[str], Any] | None:
    """`question -> facts` for the DB at `db`: the Retriever's SQL fact path (question parsing and
    fact finding over the loaded runs); its time is included in each query's latency."""
    if not db.is_file():
        return None
    from labvoice.knowledge.facts import FactFinder
    from labvoice.knowledge.question import parse_question
    from labvoice.knowledge.store import ManifestStore

    finder = FactFinder(ManifestStore(db).runs())
    return lambda question: finder.find(parse_question(question, finder.vocab))


ASK_QUESTIONS = ("Which run had the best validation accuracy on digits?", "What are the top three runs by "
                 "validation F1 on wine?", "Which runs are flagged for publishing?", "Which run has the lowest "
                 "training loss?", "What is the most recent run?", "How many runs used a perceptron?",
                 "Which runs diverged?", "Hello, how are you?")


def bench_ask(config, rounds: int) -> dict[str, Any]:
    """`ask --text` on the configured (demo) DB and index: time to the first speakable piece (the
    facts, or the LLM's first guarded clause) and to the full answer (with the LLM's remarks)."""
    import statistics

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
                full.append(ms.get("llm_done", 0.0))
                templated += result.fallback
    finally:
        brain.close()
    return {"questions": len(first), "first_piece_p50_ms": statistics.median(first),
            "answer_p50_ms": statistics.median(full), "templated_fallbacks": templated,
            "peak_rss_mib": peak_rss_mib()}


def peak_rss_mib() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)  # bytes on macOS, KiB on Linux


def log_synthetic_runs(db: Path, count: int) -> float:
    """Log `count` synthetic runs through the real decorator; returns seconds."""
    rng = np.random.default_rng(SYNTH_SEED)

    @log_run(db=db)
    def synthetic(*, dataset: str, model: str, learning_rate: float, epochs: int, seed: int, alpha: float,
                  run_id: str) -> dict:
        base = 0.6 + 0.35 * rng.random()
        return {"metrics": {"val_accuracy": base, "val_f1": base - 0.02 * rng.random(),
                            "train_accuracy": min(1.0, base + 0.05 * rng.random()),
                            "train_loss": float(rng.exponential(0.3)), "val_loss": float(rng.exponential(0.4))},
                "artifacts": {"metrics_csv": f"artifacts/{run_id}/metrics.csv"}}

    started = time.perf_counter()
    for i in range(count):
        synthetic(dataset=DATASETS[i % len(DATASETS)], model=MODELS[(i // len(DATASETS)) % len(MODELS)],
                  learning_rate=LEARNING_RATES[i % len(LEARNING_RATES)], epochs=int(rng.integers(5, 50)),
                  seed=i % 5, alpha=float(rng.choice([0.0, 1e-4, 1e-3])))
    store = ManifestStore(db)
    for i, run in enumerate(store.runs()):  # the one other write path, as in a real DB
        if i % PUBLISH_EVERY == 0:
            store.set_note(run.run_id, "PUBLISH")
        elif i % DIVERGED_EVERY == 0:
            store.set_note(run.run_id, f"diverged: val_loss rose from {run.metrics['val_loss']:.3g} to 12.5")
    return time.perf_counter() - started


def time_queries(search: Callable[[str], Any], extra: Callable[[str], Any] | None, count: int) -> dict[str, float]:
    for question in QUESTIONS[:WARMUP_QUERIES]:
        search(question)
    times = []
    for i in range(count):
        question = QUESTIONS[i % len(QUESTIONS)]
        started = time.perf_counter()
        search(question)
        if extra is not None:
            extra(question)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)), "queries": count}


def bench_full(db: Path, index_dir: Path, embedder: Embedder, chunking: Chunking, queries: int) -> dict[str, Any]:
    cpu_started = time.process_time()
    report = build(db, None, index_dir, embedder, chunking=chunking, progress=False)
    build_cpu_s = time.process_time() - cpu_started
    index = KnowledgeIndex.load(index_dir, embedder)
    latency = time_queries(lambda q: index.search(q, 5), extra_query_fn_factory(db), queries)
    return {"method": "real full build() of all run cards; queries on that index",
            "build_s": report.seconds, "build_cpu_s": build_cpu_s, "cards": report.total,
            "cards_per_s": report.total / report.seconds, "query": latency}


def bench_sampled(db: Path, tmp: Path, embedder: Embedder, sample: int, queries: int) -> dict[str, Any]:
    started = time.perf_counter()
    cards = run_cards(ManifestStore(db).runs())
    cards_s = time.perf_counter() - started
    picked = [cards[i] for i in np.linspace(0, len(cards) - 1, min(sample, len(cards))).astype(int)]
    started, cpu_started = time.perf_counter(), time.process_time()
    vectors = embedder.embed([c.text for c in picked])
    embed_s, embed_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    tiled = np.ascontiguousarray(np.resize(vectors, (len(cards), embedder.dimension)))
    started = time.perf_counter()
    flat = faiss.IndexFlatIP(embedder.dimension)
    flat.add(tiled)
    faiss.write_index(flat, str(tmp / "bench.faiss"))
    faiss_s = time.perf_counter() - started
    embed_rate = len(picked) / embed_s
    projected_s = cards_s + len(cards) / embed_rate + faiss_s
    latency = time_queries(lambda q: flat.search(embedder.embed_query(q).reshape(1, -1), 5),
                           extra_query_fn_factory(db), queries)
    return {"method": (f"SAMPLED, not a full build: store load + {len(cards)} cards real ({cards_s:.2f} s); "
                       f"embedding measured on {len(picked)} of them ({embed_rate:.1f} cards/s); FAISS add+write "
                       f"of {len(cards)} vectors real ({faiss_s:.2f} s); full build time PROJECTED from these; "
                       f"queries on a flat index of {len(cards)} vectors = the sample's real vectors repeated"),
            "cards": len(cards), "embed_sample": len(picked), "embed_cards_per_s": embed_rate,
            "embed_cpu_s": embed_cpu_s,
            "cards_s": cards_s, "faiss_s": faiss_s, "projected_build_s": projected_s,
            "projected_cards_per_s": len(cards) / projected_s, "query": latency}


def run_bench(sizes: list[int], full: bool, full_limit: int, sample: int, queries: int, config) -> dict[str, Any]:
    embedder = Embedder.from_config(config)
    chunking = Chunking.from_config(config.knowledge)
    result: dict[str, Any] = {
        "machine": device_summary(), "python": platform.python_version(), "threads": config.threads,
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "embedding_model": f"{embedder.name} ({embedder.dimension}-d), batch {embedder.batch_size}",
        "facts_hook": "SQL facts (question parsing + fact finding) included in query latency",
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="labvoice-bench-") as folder:
        for size in sizes:
            tmp = Path(folder) / str(size)
            tmp.mkdir()
            db = tmp / "runs.db"
            log_s = log_synthetic_runs(db, size)
            entry = {"runs": size, "log_run_s": log_s, "log_runs_per_s": size / log_s}
            if full or size <= full_limit:
                entry.update(bench_full(db, tmp / "index", embedder, chunking, queries))
            else:
                entry.update(bench_sampled(db, tmp, embedder, sample, queries))
            entry["peak_rss_mib"] = peak_rss_mib()
            entry["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            result["sizes"][str(size)] = entry
    return result


def format_text(result: dict[str, Any]) -> str:
    lines = [f"machine: {result['machine']}; Python {result['python']}; threads {result['threads']}; "
             f"load average at start {result['load_average_at_start']}",
             f"embedding model: {result['embedding_model']}; facts hook: {result['facts_hook']}"]
    for size, e in result["sizes"].items():
        q = e["query"]
        if "cards_per_s" in e:
            build_text = (f"full index build {e['cards']:,} cards in {e['build_s']:.1f} s = {e['cards_per_s']:.1f} "
                          f"cards/s ({e['build_cpu_s']:.0f} CPU-s)")
        else:
            build_text = (f"PROJECTED full build {e['projected_build_s']:.0f} s = {e['projected_cards_per_s']:.1f} "
                          f"cards/s (embedding measured on {e['embed_sample']:,} cards: "
                          f"{e['embed_cards_per_s']:.1f} cards/s, {e['embed_cpu_s']:.0f} CPU-s)")
        lines.append(f"{int(size):,} runs: logged via log_run in {e['log_run_s']:.1f} s ({e['log_runs_per_s']:.0f} "
                     f"runs/s); {build_text}; query p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms "
                     f"({q['queries']} queries); peak RSS {e['peak_rss_mib']:.0f} MiB; load average after "
                     f"{e['load_average_after']:.1f}")
        lines.append(f"    method: {e['method']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="run counts")
    parser.add_argument("--full", action="store_true", help="a real full build at every size (slow)")
    parser.add_argument("--full-limit", type=int, default=DEFAULT_FULL_LIMIT,
                        help="largest size that gets a real full build without --full")
    parser.add_argument("--embed-sample", type=int, default=DEFAULT_EMBED_SAMPLE,
                        help="cards embedded to measure throughput at larger sizes")
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="timed queries per size")
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--ask-rounds", type=int, default=DEFAULT_ASK_ROUNDS,
                        help="rounds of `ask --text` questions on the configured DB (0 = skip)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    apply_thread_budget(config.threads)
    result = run_bench(args.sizes, args.full, args.full_limit, args.embed_sample, args.queries, config)
    if args.ask_rounds:
        result["ask_text"] = bench_ask(config, args.ask_rounds)
    text = format_text(result)
    if "ask_text" in result:
        a = result["ask_text"]
        text += (f"\nask --text on {config.paths.db} ({a['questions']} answers): first speakable piece p50 "
                 f"{a['first_piece_p50_ms']:.0f} ms, full answer p50 {a['answer_p50_ms']:.0f} ms, "
                 f"{a['templated_fallbacks']} templated; peak RSS {a['peak_rss_mib']:.0f} MiB")
    print(json.dumps(result, indent=1) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
