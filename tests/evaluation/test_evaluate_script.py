"""scripts/evaluate.py end to end: the shipped scenarios on a freshly trained demo DB in text mode,
with the issue's thresholds (accuracy >= 90 %, no hallucinations, no data changed); the voice mode
through the whole pipeline; the exit codes. The session's loaded models are shared (no reload)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from labvoice.config import PROJECT_ROOT
from labvoice.evaluation.expect import db_checksum, read_rows

from labvoice.benchmarks.demo_inputs import load_train_demo
from tests.pipeline.conftest import rewire

SCRIPT = PROJECT_ROOT / "scripts" / "evaluate.py"
DEMO_SCENARIOS = PROJECT_ROOT / "scenarios" / "demo.yaml"
MIN_ACCURACY = 0.9
MAX_WER = 0.5


def _script():
    spec = importlib.util.spec_from_file_location("labvoice_evaluate_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval-demo")
    load_train_demo().run_demo(folder / "runs.db", folder / "artifacts", quick=True, progress=False)
    return folder / "runs.db"


@pytest.fixture(scope="module")
def loaders(live_stages, tmp_path_factory):
    """Loaders for main() that re-wire the session's models to the config main() builds."""
    logs = tmp_path_factory.mktemp("eval-logs")

    def stages(config):
        return rewire(live_stages, db=config.paths.db, index=config.paths.index, logs=logs)

    return {"brain_loader": lambda config: stages(config).brain, "stages_loader": stages}


def _run(argv, loaders) -> tuple[int, dict]:
    code = _script().main([str(a) for a in argv], **loaders)
    report = Path(argv[argv.index("--report") + 1])
    return code, json.loads((report / "summary.json").read_text(encoding="utf-8"))


def test_shipped_scenarios_meet_the_thresholds_in_text_mode(demo_db, loaders, tmp_path):
    before = db_checksum(demo_db)
    code, summary = _run(["--scenarios", DEMO_SCENARIOS, "--db", demo_db, "--report", tmp_path, "--verbosity", "0",
                          "--min-accuracy", MIN_ACCURACY, "--max-hallucinations", 0], loaders)
    wrong = [(r["id"], r["answer"], r["used_run_ids"], r["expected_run_ids"]) for r in summary["results"]
             if not r["right"] or r["hallucinations"]]
    assert code == 0, (summary["failures"], wrong)
    assert summary["accuracy"] >= MIN_ACCURACY and summary["hallucinations"] == 0
    assert summary["data_changed"] == [] and db_checksum(demo_db) == before
    assert summary["evaluated"] == summary["scenarios"] and summary["latency_ms"]["first"]["p50"] > 0
    assert {"injection", "long_input", "count"} <= set(summary["per_kind"])
    assert (tmp_path / "accuracy_latency.png").stat().st_size > 10_000
    assert "| count |" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_voice_mode_runs_end_to_end(demo_db, loaders, tmp_path):
    rows = read_rows(demo_db)
    perceptrons = [r.run_id for r in rows if r.model == "perceptron"]
    scenarios = tmp_path / "voice.jsonl"
    scenarios.write_text("\n".join(json.dumps(s) for s in (
        {"id": "count", "kind": "count", "question": "How many runs used a perceptron?",
         "expected_run_ids": perceptrons, "expected_mentions": [str(len(perceptrons))]},
        {"id": "empty", "kind": "empty", "question": "", "expect_no_runs": True},
    )) + "\n")
    code, summary = _run(["--scenarios", scenarios, "--db", demo_db, "--report", tmp_path / "report", "--voice",
                          "--no-index", "--verbosity", "0"], loaders)
    assert code == 0, summary["failures"]
    assert summary["mode"] == "voice" and summary["skipped"] == [{"id": "empty", "why": "cannot be spoken (empty or too long)"}]
    spoken, = [r for r in summary["results"] if not r["skipped"]]
    assert "perceptron" in spoken["heard"].lower() and spoken["wer"] <= MAX_WER, spoken
    assert spoken["first_ms"] > 0 and not spoken["errors"]
    assert summary["wer"]["mean"] == spoken["wer"]


def test_a_missed_threshold_exits_1_and_bad_input_exits_2(demo_db, loaders, tmp_path):
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"question": "Which runs diverged?", "kind": "note_search",
                                 "expected_run_ids": [read_rows(demo_db)[0].run_id]}) + "\n")
    code, summary = _run(["--scenarios", wrong, "--db", demo_db, "--report", tmp_path / "r", "--no-index",
                          "--verbosity", "0", "--min-accuracy", "1.0"], loaders)
    assert code == 1 and summary["failures"] == ["accuracy 0.0 < 1.0"]
    done = subprocess.run([sys.executable, str(SCRIPT), "--scenarios", str(tmp_path / "none.yaml"), "--db", str(demo_db)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "not found" in done.stderr and "Traceback" not in done.stderr
