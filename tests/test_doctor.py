"""`run_doctor` on this machine (no GPU): JSON report, profile resolution and the exit code.

The "fully usable" case runs the doctor in a subprocess pointed at the virtual PulseAudio devices
(tests/support), the quick demo DB and its index (tests/knowledge fixtures): exit code 0.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from labvoice.config import PROJECT_ROOT, load_config
from labvoice.doctor import TARGET_VRAM_GB, run_doctor, vram_budget
from tests.knowledge.conftest import chunking, config, demo_db, demo_index, demo_run, embedder  # noqa: F401

DOCTOR_TIMEOUT_S = 120


def _doctor(cfg) -> tuple[int, dict]:
    out = io.StringIO()
    code = run_doctor(cfg, as_json=True, out=out)
    return code, json.loads(out.getvalue())


def test_this_machine_has_no_gpu_and_runs_the_cpu_profile():
    code, report = _doctor(load_config(environ={}))
    assert report["gpu"]["available"] is False and report["gpu"]["detail"] == "no CUDA GPU"
    assert report["profile"] == {"configured": "auto", "resolved": "cpu"}
    assert report["cpu"]["usable"] >= 1 and report["cpu"]["threads"] >= 1
    assert report["models"]["cpu"]["missing"] == []       # the bundled models are installed
    assert report["models"]["gpu"]["missing"]             # nothing was downloaded into models/
    assert not any(p.startswith("models:") for p in report["problems"])  # ... and that is not a problem
    assert code == (1 if report["problems"] else 0) and report["ok"] is (code == 0)
    assert all("\n" not in line for line in report["problems"])


def test_missing_database_and_index_are_problems(tmp_path):
    cfg = load_config(environ={}).replace(**{"paths.db": str(tmp_path / "none.db"),
                                             "paths.index": str(tmp_path / "index")})
    code, report = _doctor(cfg)
    assert code == 1
    assert any(p.startswith("database:") and "none.db" in p for p in report["problems"])
    assert any(p.startswith("index:") and "build_index.py" in p for p in report["problems"])


def test_forcing_the_gpu_profile_without_a_gpu_is_a_problem():
    code, report = _doctor(load_config(environ={}).replace(profile="gpu"))
    assert code == 1 and report["profile"]["resolved"] == "gpu"
    assert any("no CUDA GPU is visible" in p for p in report["problems"])
    assert any(p.startswith("models: tts model missing") and "download_models.py" in p for p in report["problems"])


def test_text_report_lists_problems_one_per_line(tmp_path):
    cfg = load_config(environ={}).replace(**{"paths.db": str(tmp_path / "none.db")})
    out = io.StringIO()
    assert run_doctor(cfg, as_json=False, out=out) == 1
    text = out.getvalue()
    assert "no CUDA GPU" in text and "profile:   cpu" in text and "VRAM plan" in text
    assert any(line.startswith("  - database:") for line in text.splitlines())


def test_vram_budget_of_the_default_gpu_profile():
    budget = vram_budget(load_config(environ={}))
    rows = {row["model"].split(":")[0].split(" ")[0]: row["gb"] for row in budget["rows"]}
    assert budget["total_gb"] == TARGET_VRAM_GB
    assert rows["vLLM"] == pytest.approx(0.45 * TARGET_VRAM_GB)
    assert rows["Whisper"] == pytest.approx(1.62, abs=0.05)
    assert rows["CSM"] == pytest.approx(4.5)
    assert budget["planned_gb"] == pytest.approx(sum(rows.values())) and budget["fits"]
    greedy = load_config(environ={}).replace(**{"llm.vllm.gpu_memory_utilization": 0.9})
    assert not vram_budget(greedy)["fits"]


def test_fully_usable_cpu_profile_exits_zero(request, demo_db, demo_index):  # noqa: F811
    try:
        audio = request.getfixturevalue("virtual_audio")
    except Exception as err:  # no PulseAudio here: this case cannot be set up
        pytest.skip(f"virtual audio devices unavailable: {err}")
    env = {**os.environ, **audio.env, "LABVOICE_PATHS__DB": str(demo_db),
           "LABVOICE_PATHS__INDEX": str(demo_index), "LABVOICE_PROFILE": "auto"}
    script = ("import sys; from labvoice.config import load_config; from labvoice.doctor import run_doctor; "
              "sys.exit(run_doctor(load_config(), as_json=True))")
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=DOCTOR_TIMEOUT_S)
    report = json.loads(done.stdout)
    assert report["problems"] == [], done.stdout
    assert done.returncode == 0
    assert report["gpu"]["available"] is False and report["profile"]["resolved"] == "cpu"
    assert report["audio"]["input_devices"] >= 1 and report["audio"]["output_devices"] >= 1
    assert report["database"]["runs"] > 0 and report["index"]["current"] is True
