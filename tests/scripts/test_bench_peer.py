"""scripts/bench_peer.py without the peer: the parsing of real results, the ratios of adjacent runs,
and the one clear line when the peer's venv or harness is missing.

The data are real outputs (tests/scripts/data/): the peer harness's results JSONL from its 2026-11-21
run (../shared/peers/results/, copied because a clean clone has no ../shared), and one
`scripts/bench.py --peer-questions --json` report from a bench_peer.py run on this machine.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from labvoice.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "bench_peer.py"
DATA = PROJECT_ROOT / "tests" / "scripts" / "data"
PIPECAT_RESULTS = DATA / "pipecat_default_2026-11-21.jsonl"
LABVOICE_REPORT = DATA / "labvoice_peer_questions.json"
QUESTION_IDS = {
    "Which run has the best validation accuracy on the digits dataset?": "q1",
    "Compare the two best SVM runs.": "q2",
    "What learning rate did run seven use?": "q3",
    "Which runs are flagged for publishing?": "q4",
    "Tell me a joke.": "q5",
}


@pytest.fixture(scope="module")
def bench_peer():
    spec = importlib.util.spec_from_file_location("labvoice_bench_peer_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def labvoice_report():
    return json.loads(LABVOICE_REPORT.read_text())


def test_pipecat_results_parse_to_the_figures_its_readme_quotes(bench_peer):
    run = bench_peer.parse_pipecat(PIPECAT_RESULTS)
    # ../shared/peers/README.md, machine A, setting default: p50 2325, min 1571, max 3477, 1/10 incomplete
    assert (run["turns"], run["answered"]) == (10, 10)       # the warm-up turn is left out
    assert (run["p50"], run["min"], run["max"]) == (2324.8, 1570.6, 3476.7)
    assert run["by_question"]["q5"] == [1570.6, 3476.7]
    assert run["smart_turn_incomplete"] == 1
    assert run["breakdown_ms"]["endpointing wait"] == 200.0
    assert run["breakdown_ms"]["transcription"] == 975.9


def test_labvoice_report_maps_each_turn_to_the_peers_question(bench_peer, labvoice_report):
    run = bench_peer.parse_labvoice(labvoice_report, QUESTION_IDS)
    assert sorted(run["by_question"]) == ["q1", "q2", "q3", "q4", "q5"]
    assert sum(len(v) for v in run["by_question"].values()) == labvoice_report["answered"]
    joke = [ms for text, ms in zip(labvoice_report["first_audio_questions"], labvoice_report["first_audio_each_ms"])
            if text == "Tell me a joke."]
    assert run["by_question"]["q5"] == sorted(joke)
    assert run["p50"] == labvoice_report["first_audio_ms"]["p50"]


def test_ratios_of_adjacent_runs_overall_and_per_question(bench_peer, labvoice_report):
    peer = bench_peer.parse_pipecat(PIPECAT_RESULTS)
    ours = bench_peer.parse_labvoice(labvoice_report, QUESTION_IDS)
    # The same labvoice run with every turn 10 % slower stands in for a second labvoice run.
    slower = {**ours, "p50": round(ours["p50"] * 1.1, 1),
              "by_question": {q: [round(v * 1.1, 1) for v in values] for q, values in ours["by_question"].items()}}
    summary = bench_peer.summarize([peer, ours, peer, slower])   # P L P L: three adjacent pairs
    first = round(ours["p50"] / peer["p50"], 3)
    assert summary["ratios"] == [first, first, round(slower["p50"] / peer["p50"], 3)]
    assert summary["ratio_median"] == first
    joke = round(bench_peer.median(ours["by_question"]["q5"]) / bench_peer.median(peer["by_question"]["q5"]), 3)
    assert summary["per_question_ratio_median"]["q5"] == joke
    assert [p["runs"] for p in summary["pairs"]] == [[1, 2], [2, 3], [3, 4]]
    assert summary["labvoice_stages_p50_ms"]["stt"] is not None


def test_a_report_without_question_names_is_one_clear_error(bench_peer, labvoice_report):
    old = {k: v for k, v in labvoice_report.items() if k != "first_audio_questions"}
    with pytest.raises(bench_peer.BenchError, match="first_audio_questions"):
        bench_peer.parse_labvoice(old, QUESTION_IDS)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LABVOICE_PEER")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env={**base, **env}, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_missing_peer_python_is_one_clear_line(tmp_path):
    harness = tmp_path / "pipecat_bench.py"
    harness.write_text("")
    done = _run("--harness", str(harness), LABVOICE_PEER_PYTHON=str(tmp_path / "venv" / "bin" / "python"))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert str(tmp_path / "venv" / "bin" / "python") in lines[0]
    assert "../shared/peers/README.md" in lines[0] and "--peer-python" in lines[0]
    assert done.stdout == ""   # it stopped before starting anything (no "results and logs in ...")


def test_missing_harness_is_one_clear_line(tmp_path):
    done = _run("--harness", str(tmp_path / "nowhere.py"), "--peer-python", sys.executable)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"error: the peer harness is missing at {tmp_path / 'nowhere.py'}; it lives in "
                     "../shared/peers/ (see ../shared/peers/README.md (section Setup)), or pass --harness PATH"]
