"""Window preferences: where the file lives, atomic saves, tolerant loads, config overrides."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labvoice.gui.prefs import Prefs, PrefsFile, config_overrides, settings_path


def test_path_follows_config_then_xdg_then_home(tmp_path):
    assert settings_path(tmp_path / "mine.json", {}) == tmp_path / "mine.json"
    assert settings_path(None, {"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "labvoice" / "settings.json"
    home = Path(os.path.expanduser("~"))
    assert settings_path(None, {}) == home / ".config" / "labvoice" / "settings.json"


def test_save_then_load_round_trips_and_leaves_no_temp_files(tmp_path):
    store = PrefsFile(tmp_path / "deep" / "settings.json")
    prefs = Prefs(geometry="1100x700+5+5", appearance="dark", style={"energy": 0.9}, input_device="vmic",
                  barge_in="speaker", db=str(tmp_path / "runs.db"), chart="leaderboard")
    store.save(prefs)
    assert store.load() == prefs
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]


def test_a_failed_save_leaves_no_temp_file(tmp_path):
    target = tmp_path / "settings.json"
    target.mkdir()                                   # a folder where the file should go: rename fails
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        PrefsFile(target).save(Prefs(appearance="dark"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]
    assert PrefsFile(target).load() == Prefs()      # unreadable: the defaults, no exception


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"appearance": "purple", "style": {"energy": 7}}'])
def test_bad_files_give_defaults_for_what_is_bad(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content)
    prefs = PrefsFile(path).load()
    assert prefs.appearance is None and prefs.style == {}


def test_unknown_keys_are_ignored_and_known_ones_kept(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "future_option": True, "profile": "cpu", "geometry": 12.5}))
    prefs = PrefsFile(path).load()
    assert prefs.profile == "cpu" and prefs.geometry is None


def test_overrides_validate_through_the_config(cpu_config, tmp_path):
    prefs = Prefs(input_device="vmic", barge_in="off", db=str(tmp_path / "x.db"), style={"humour": 1.0})
    config = cpu_config.replace(**config_overrides(prefs))
    assert config.audio.input_device == "vmic" and config.pipeline.barge_in == "off"
    assert config.paths.db == tmp_path / "x.db" and config.style.humour == 1.0
    assert config_overrides(Prefs()) == {}
