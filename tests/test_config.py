"""Config: the shipped YAML validates; bad values fail with one line naming key, value and rule."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labvoice.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path, **changes):
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "config" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_config_loads_and_resolves_paths_against_the_project():
    config = load_config(DEFAULT_CONFIG_PATH, environ={})
    assert config.profile == "auto"
    assert config.paths.db == ROOT / "data" / "runs.db"
    assert config.threads >= 1


def test_out_of_range_value_names_key_value_and_rule(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, **{"vad.threshold": 1.5}), environ={})
    message = str(err.value)
    assert "vad.threshold" in message and "1.5" in message and "less than 1" in message
    assert "\n" not in message


def test_wrong_choice_lists_what_is_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"pipeline.barge_in = 'loud'.*headphones"):
        load_config(write_config(tmp_path, **{"pipeline.barge_in": "loud"}), environ={})


def test_unknown_and_missing_keys(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'vad.treshold'"):
        load_config(write_config(tmp_path, **{"vad.treshold": 0.3}), environ={})
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    del data["llm"]["max_tokens"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="missing key 'llm.max_tokens'"):
        load_config(path, environ={})


def test_environment_overrides_and_secrets_are_not_keys(tmp_path):
    path = write_config(tmp_path)
    config = load_config(path, environ={"LABVOICE_VAD__THRESHOLD": "0.7", "LABVOICE_PROFILE": "cpu",
                                        "LABVOICE_OPENAI_API_KEY": "secret"})
    assert config.vad.threshold == 0.7 and config.profile == "cpu"
    with pytest.raises(ConfigError, match="threads"):
        load_config(path, environ={"LABVOICE_THREADS": "zero"})


def test_relative_paths_follow_the_config_file(tmp_path):
    config = load_config(write_config(tmp_path), environ={})
    assert config.paths.index == tmp_path / "data" / "index"


def test_broken_yaml_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("profile: [cpu\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path, environ={})


def test_cli_reports_a_bad_config_without_traceback(tmp_path):
    path = write_config(tmp_path, **{"threads": -2})
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--config", str(path), "ask", "--text", "hi"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "threads = -2" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
