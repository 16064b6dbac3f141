"""Measure the LLM query planner and the LLM's jokes with a real model.

    python scripts/bench_planner.py --db data/runs.db [--base-url URL --model NAME] [--rounds 1] [--jokes 10] [--json]

Planner: each question of QUESTIONS (worded without the DB's exact names) is sent to an
OpenAI-compatible server as JSON constrained to the query schema; reported: how many replies are
valid queries, how many name only what the DB has, and the planning time p50/max. Without
--base-url, llama-cpp-python's own server is started on loopback with the bundled SmolLM2 (the
CPU stand-in for vLLM; `llm.planner: auto` leaves SmolLM2 off, and this shows why).
Jokes: "tell me a joke" answered --jokes times at humour 0.6 through the answerer with the in-process
SmolLM2; reported: how often the LLM's own joke was usable (the rest got a built-in one) and time p50.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

QUESTIONS = (
    "Which two runs did best on validation accuracy?",
    "What is the typical validation accuracy of each model family?",
    "How many experiments have I run?",
    "Which runs trained with a learning rate under 0.001?",
    "What's the spread of the training loss?",
    "Does the learning rate matter for validation accuracy?",
    "What learning rate did the winning run use?",
    "Which runs were flagged for the paper?",
)
STARTUP_TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(log_dir: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    from labvoice.models import bundled_path

    port = _free_port()
    log = open(log_dir / "llama-server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_path("llm")),
                                "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
                                "--n_threads", "1", "--n_ctx", "4096"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited with {process.returncode}; see {log_dir}/llama-server.log")
        try:
            if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("llama_cpp.server did not start")


def bench_planner(db: Path, url: str, model: str, rounds: int) -> dict:
    from labvoice.answer.planner import QueryPlanner, planner_names
    from labvoice.knowledge.facts import FactFinder
    from labvoice.knowledge.store import ManifestStore
    from labvoice.llm.openai_compat import OpenAIChat

    finder = FactFinder(ManifestStore(db).load().runs)
    names = planner_names(finder)
    chat = OpenAIChat(url, model, timeout_s=300)
    planner = QueryPlanner(chat)
    valid = known = 0
    times, problems = [], []
    for _ in range(rounds):
        for question in QUESTIONS:
            outcome = planner.plan(question, names)
            times.append(outcome.ms)
            not_query = "not a valid query" in outcome.problem or "LLM failed" in outcome.problem
            valid += not not_query
            known += outcome.parsed is not None
            if outcome.problem:
                problems.append(f"{question} -> {outcome.problem[:120]}")
    chat.close()
    n = rounds * len(QUESTIONS)
    return {"questions": n, "valid_queries": valid, "names_known": known,
            "plan_ms_p50": round(statistics.median(times), 1), "plan_ms_max": round(max(times), 1),
            "problems": problems}


def bench_jokes(db: Path, count: int) -> dict:
    from labvoice.answer.grounded import GroundedAnswerer
    from labvoice.cancel import CancelToken
    from labvoice.config import load_config
    from labvoice.knowledge.retriever import Retriever
    from labvoice.llm.llama_cpp import LlamaCppChat
    from labvoice.style import Style

    config = load_config(environ={}).replace(**{"paths.db": db, "profile": "cpu"})
    chat = LlamaCppChat.from_config(config)
    answerer = GroundedAnswerer(Retriever.from_config(config, None), chat, config.llm, config.pipeline)
    own, times, said = 0, [], []
    for _ in range(count):
        started = time.perf_counter()
        result = answerer.answer("Tell me a joke", Style(humour=0.6), CancelToken()).finish()
        times.append((time.perf_counter() - started) * 1000)
        own += not any(d.startswith("not a usable joke") for d in result.dropped)
        said.append(result.text)
    chat.close()
    return {"asked": count, "llm_joke_used": own, "joke_ms_p50": round(statistics.median(times), 1),
            "examples": said[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a manifests DB (e.g. data/runs.db after make demo)")
    parser.add_argument("--base-url", help="an OpenAI-compatible server; default: start llama.cpp's with SmolLM2")
    parser.add_argument("--model", default="smollm2", help="the served model name (with --base-url)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jokes", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    db = Path(args.db)
    if not db.is_file():
        print(f"error: no DB at {db}; run make demo or pass --db", file=sys.stderr)
        return 2
    process = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.base_url
        if url is None:
            process, url = _start_server(Path(tmp))
        try:
            report = {"planner": bench_planner(db, url, args.model, args.rounds)}
        finally:
            if process is not None:
                process.terminate()
                process.wait(10)
    if args.jokes:
        report["jokes"] = bench_jokes(db, args.jokes)
    if args.json:
        print(json.dumps(report))
    else:
        p, j = report["planner"], report.get("jokes")
        print(f"planner: {p['valid_queries']}/{p['questions']} valid queries, {p['names_known']} with known names, "
              f"p50 {p['plan_ms_p50']} ms, max {p['plan_ms_max']} ms")
        for line in p["problems"]:
            print(f"  {line}")
        if j:
            print(f"jokes: the LLM's own joke used {j['llm_joke_used']}/{j['asked']}, p50 {j['joke_ms_p50']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
