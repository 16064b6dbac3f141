"""Installed, not a checkout: the wheel carries the default config and the `labvoice` command, and the
installed copy finds its config, data and log file in the user's folders (platformdirs), with the user
config, the user `.env` and `--db` over the packaged defaults.

The wheel is built from a copy of the project's packaging files (pyproject.toml, README.md, src/,
config/), installed with `pip install --target` into a temp folder, and run from another temp folder
with XDG folders of its own, so no checkout path can be found by accident.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, site folder with the installed package and its bin/labvoice) of this working tree."""
    work = tmp_path_factory.mktemp("installed")
    project = work / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "config", project / "config")
    shutil.copytree(ROOT / "src", project / "src", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist),
                            str(project)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(dist.glob("labvoice-*.whl"))
    site = work / "site"
    done = subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return wheel, site


def _user_env(home: Path, site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABVOICE_", "XDG_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"), XDG_DATA_HOME=str(home / "share"),
               XDG_STATE_HOME=str(home / "state"), PYTHONPATH=str(site), PYTHONNOUSERSITE="1")
    return env


def test_the_wheel_carries_the_default_config_and_the_command(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("labvoice/default_config.yaml").decode()
        entry_points = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("entry_points.txt"))
        names = set(archive.namelist())
    assert packaged == (ROOT / "config" / "config.yaml").read_text()
    assert "labvoice = labvoice.cli:main" in entry_points
    # Every data file of the package travels with it (the lexicon was once left behind).
    data_files = [p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "labvoice").rglob("*")
                  if p.is_file() and p.suffix in (".yaml", ".json", ".txt", ".typed")]
    assert data_files and [name for name in data_files if name not in names] == []


def test_installed_command_uses_the_user_folders_and_their_overrides(installed, tmp_path):
    _, site = installed
    home, cwd = tmp_path / "home", tmp_path / "elsewhere"
    cwd.mkdir()
    user_config = home / "cfg" / "labvoice"
    user_config.mkdir(parents=True)
    (user_config / "config.yaml").write_text(yaml.safe_dump({"paths": {"index": "my-index"}}))
    (user_config / ".env").write_text("LABVOICE_PROFILE=cpu\n")
    chosen_db = tmp_path / "chosen.db"
    proc = subprocess.run([str(site / "bin" / "labvoice"), "doctor", "--json", "--db", str(chosen_db)], cwd=cwd,
                          env=_user_env(home, site), capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]   # 1: problems (no DB, no index) are expected here
    report = json.loads(proc.stdout)
    files = report["files"]
    assert files["checkout"] is False
    assert Path(files["default_config"]) == site / "labvoice" / "default_config.yaml"
    assert Path(files["config"]) == user_config / "config.yaml"
    assert report["profile"]["configured"] == "cpu"                      # from the user .env
    data = home / "share" / "labvoice"
    assert Path(files["data_dir"]) == data
    assert Path(report["index"]["path"]) == data / "my-index"             # relative: under the user data folder
    assert Path(report["database"]["path"]) == chosen_db                 # --db wins over the config
    assert Path(files["log_file"]).is_relative_to(home / "state") and Path(files["log_file"]).is_file()
    text = json.dumps(report)
    assert str(ROOT) not in text, "an installed copy must not reach into the checkout"


def test_installed_command_says_what_is_wrong_in_one_line(installed, tmp_path):
    _, site = installed
    proc = subprocess.run([sys.executable, "-m", "labvoice", "index", "--db", str(tmp_path / "none.db")],
                          cwd=tmp_path, env=_user_env(tmp_path / "home", site), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "none.db" in lines[0], proc.stderr
