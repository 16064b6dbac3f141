"""hardware.py without torch: CPUs from the OS, the thread budget through the environment, no GPU looked
for where no NVIDIA driver is loaded; the start of the CPU profile (setup, doctor, the embedder) imports
no torch, checked in a fresh process so nothing the suite imported can hide it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from labvoice import hardware

START_WITHOUT_TORCH = """
import json, sys
from labvoice import doctor
from labvoice.app import setup
from labvoice.config import load_config
from labvoice.hardware import device_summary
from labvoice.knowledge.embedder import Embedder

config = load_config()
profile = setup(config)
report = doctor.collect(config)
embedder = Embedder.from_config(config)
vector = embedder.embed_query("Which run has the best validation accuracy?")
device_summary()
print(json.dumps({"profile": profile, "backend": embedder.backend, "norm": float((vector ** 2).sum()),
                  "cpu": report["cpu"], "torch_imported": "torch" in sys.modules,
                  "threads_env": __import__("os").environ.get("OMP_NUM_THREADS")}))
"""


def test_usable_cpus_is_this_process_affinity():
    assert hardware.usable_cpus() == len(os.sched_getaffinity(0)) >= 1


def test_no_driver_no_cuda_and_no_torch_import(monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "_NVIDIA_DRIVER", (tmp_path / "no-driver",))
    monkeypatch.setitem(sys.modules, "torch", None)       # an import would raise ImportError: it must not happen
    assert not hardware.nvidia_driver_loaded() and hardware.cuda_available() is False


def test_the_cpu_profile_starts_without_importing_torch():
    done = subprocess.run([sys.executable, "-c", START_WITHOUT_TORCH], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if not k.startswith("LABVOICE_")})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["profile"] == "cpu" and result["backend"] == "onnxruntime"
    assert abs(result["norm"] - 1.0) < 1e-4
    assert result["torch_imported"] is False
    assert result["cpu"]["usable"] == len(os.sched_getaffinity(0))
    assert result["threads_env"] == str(result["cpu"]["threads"])
