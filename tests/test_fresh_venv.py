"""A new user's install, on each supported Python: an empty venv, `pip install ".[cpu]"` (constrained by
requirements/lock.txt), the model-file packages of requirements/no-deps.txt without their dependencies,
then the installed `labvoice` run as a user runs it.

Each venv is made by that Python's own `venv`; the project is installed from a copy of its packaging
files, not editable, so the package must find its default config and its bundled models inside
site-packages. The commands run from an empty temp folder with HOME and the XDG folders pointed at a
temp home (platformdirs' user folders start empty), on a quick demo DB made in a temp folder:
- `labvoice doctor --json`: the cpu profile's models all present, no torch installed;
- `labvoice index` then `labvoice ask --text "Which run has the best validation accuracy?" --json`:
  the demo's best run, named by its id;
- the voice stages load as `labvoice run` loads them (VAD, Whisper, llama.cpp, Piper, the index and its
  MiniLM on onnxruntime, the warm-up) and torch is neither installed nor imported.

pip's cache (~/.cache/pip) is shared with `make install`, and so is the llama-cpp-python wheel that
`make install` builds into .make/wheels (a py3-none wheel: llama.cpp is loaded through ctypes, so it fits
every Python version): no venv here compiles llama.cpp again. Without it (the suite run outside make) the
first venv of each Python version compiles it, with the Makefile's CMAKE_ARGS.
Python 3.12 is the issue's Done-when; 3.13 and 3.11 are the other supported versions. Each must be
found (python3.X on PATH or in pyenv's versions/); LABVOICE_FRESH_VENV_PYTHONS="3.12" narrows the list.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labvoice.knowledge.store import ManifestStore
from tests.knowledge.conftest import demo_db, demo_run  # noqa: F401 - session fixtures: the quick demo DB

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
NO_DEPS = ROOT / "requirements" / "no-deps.txt"
WHEELS = ROOT / ".make" / "wheels"      # make install's llama-cpp-python wheel
VERSIONS = tuple(os.environ.get("LABVOICE_FRESH_VENV_PYTHONS", "3.12 3.13 3.11").split())
QUESTION = "Which run has the best validation accuracy?"
INSTALL_TIMEOUT_S = 1800      # a cold pip cache compiles llama-cpp-python (~10 min on 2 busy cores)
RUN_TIMEOUT_S = 600

STAGES_WITHOUT_TORCH = """
import importlib.util, json, sys
from pathlib import Path
from labvoice.config import load_config
from labvoice.pipeline.stages import Stages

config = load_config().replace(**{"paths.db": Path(sys.argv[1]), "paths.index": Path(sys.argv[2])})
stages = Stages.load(config)
print(json.dumps({"profile": stages.brain.profile, "embedder": stages.brain.retriever.passages is not None,
                  "torch_imported": "torch" in sys.modules,
                  "torch_installed": importlib.util.find_spec("torch") is not None,
                  "sentence_transformers_installed": importlib.util.find_spec("sentence_transformers") is not None,
                  "labvoice": str(Path(sys.modules["labvoice"].__file__).parent)}))
"""


def find_python(version: str) -> str:
    """python<version> that runs (a pyenv shim of a version pyenv is not switched to does not), else
    pyenv's versions/<version>*/bin/python<version>; the Makefile looks the same way."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}*/bin/python{version}"), reverse=True)]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    raise AssertionError(f"Python {version} not found (python{version} on PATH or {pyenv}/{version}*); "
                         f"install it, or set LABVOICE_FRESH_VENV_PYTHONS to the versions this machine has")


def llama_cmake_args() -> str:
    """The Makefile's LLAMA_CMAKE_ARGS (llama.cpp without AMX), so a cold cache builds the same wheel."""
    match = re.search(r"^LLAMA_CMAKE_ARGS := (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert match, "Makefile lost LLAMA_CMAKE_ARGS"
    return match.group(1).strip()


def project_copy(target: Path) -> Path:
    """The files `pip install .` reads: no tests, data or venv of the checkout come along."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


def _run(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))[:300]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABVOICE_", "XDG_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_CACHE_HOME=str(home / ".cache"),
               PYTHONNOUSERSITE="1", HF_HUB_OFFLINE="1")
    return env


@pytest.fixture(scope="module", params=VERSIONS)
def fresh_venv(request, tmp_path_factory) -> tuple[str, Path]:
    """(Python version, venv folder) with labvoice's CPU profile installed as docs/install.md says."""
    version = request.param
    python = find_python(version)
    work = tmp_path_factory.mktemp(f"fresh-{version}")
    venv = work / "venv"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "--find-links", str(WHEELS)]
    env = {**os.environ, "CMAKE_ARGS": llama_cmake_args()}
    start = time.perf_counter()
    _run([python, "-m", "venv", str(venv)], 300)
    _run([*pip, "-c", str(LOCK), f"{project_copy(work / 'project')}[cpu]"], INSTALL_TIMEOUT_S, env=env)
    _run([*pip, "--no-deps", "-r", str(NO_DEPS)], 600, env=env)
    print(f"\nfresh venv on Python {version}: installed in {time.perf_counter() - start:.0f} s")
    return version, venv


@pytest.fixture
def user(tmp_path, demo_db) -> dict:  # noqa: F811 - the session fixture imported above
    """A user's empty home and working folder, and a copy of the quick demo DB in a temp folder."""
    home, cwd, data = tmp_path / "home", tmp_path / "work", tmp_path / "data"
    for folder in (home, cwd, data):
        folder.mkdir()
    db = data / "runs.db"
    shutil.copy(demo_db, db)
    kb = data / "docs"
    kb.mkdir()
    (kb / "protocol.md").write_text("# Evaluation protocol\n\nValidation accuracy is the headline number; "
                                    "ties are broken by validation F1.\n", encoding="utf-8")
    return {"env": _user_env(home), "cwd": cwd, "db": db, "index": data / "index", "kb": kb, "home": home}


def test_installed_cpu_profile_answers_with_no_checkout_and_no_torch(fresh_venv, user):
    version, venv = fresh_venv
    labvoice = str(venv / "bin" / "labvoice")
    where = {"cwd": user["cwd"], "env": user["env"]}

    doctor = subprocess.run([labvoice, "doctor", "--json", "--db", str(user["db"])], capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_S, **where)
    assert doctor.returncode in (0, 1), doctor.stderr[-3000:]     # 1: problems (no index yet, no audio device)
    report = json.loads(doctor.stdout)
    assert report["models"]["cpu"]["missing"] == [], report["models"]
    assert report["profile"]["resolved"] == "cpu" and report["cpu"]["torch_installed"] is False
    assert report["database"]["ok"] and report["database"]["runs"] > 0
    assert report["files"]["checkout"] is False
    site = venv / "lib" / f"python{version}" / "site-packages"
    assert Path(report["files"]["default_config"]) == site / "labvoice" / "default_config.yaml"
    assert Path(report["files"]["data_dir"]).is_relative_to(user["home"])
    assert str(ROOT) not in json.dumps(report), "an installed copy must not reach into the checkout"

    _run([labvoice, "index", "--db", str(user["db"]), "--index", str(user["index"]), "--kb", str(user["kb"])],
         RUN_TIMEOUT_S, **where)
    asked = _run([labvoice, "ask", "--text", QUESTION, "--json", "--db", str(user["db"]),
                  "--index", str(user["index"])], RUN_TIMEOUT_S, **where)
    answer = json.loads(asked.stdout.strip().splitlines()[-1])
    assert answer["errors"] == [] and not answer["fallback"]
    assert answer["query"]["metric"] == "val_accuracy" and answer["query"]["shape"] == "rank"
    best = answer["used_run_ids"]
    assert len(best) == 1 and best[0] in answer["answer"] and "val_accuracy" in answer["answer"]
    accuracy = {run.run_id: run.metrics["val_accuracy"] for run in ManifestStore(user["db"]).runs()}
    assert accuracy[best[0]] == max(accuracy.values())

    loaded = _run([str(venv / "bin" / "python"), "-c", STAGES_WITHOUT_TORCH, str(user["db"]), str(user["index"])],
                  RUN_TIMEOUT_S, **where)
    stages = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert stages["profile"] == "cpu" and stages["embedder"]
    assert stages["torch_installed"] is False and stages["torch_imported"] is False
    assert stages["sentence_transformers_installed"] is False
    assert Path(stages["labvoice"]) == site / "labvoice"
