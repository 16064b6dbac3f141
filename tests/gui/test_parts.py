"""The window's non-visual parts on real data: event coalescing, the runs panel's data and chart
(from the quick demo DB and its metrics CSVs), the publish note, and error texts. No display is
needed; modules that import tkinter are imported inside the tests (see conftest.py)."""
from __future__ import annotations

import queue

import numpy as np
import pytest

from labvoice.events import AnswerDelta, MicLevel, StatusChanged, Status, Transcript
from labvoice.gui.chart import CURVES, LEADERBOARD, chart_metric, load_runs, render
from labvoice.gui.dispatch import EventReader, coalesce
from labvoice.gui.errors import MAX_LINES, describe, fix_for, fix_for_event


def test_coalesce_keeps_order_and_only_the_newest_level_and_delta_per_turn():
    batch = [MicLevel(1, 0.1, 0.0), AnswerDelta(1, "The"), StatusChanged(1, Status.SPEAKING),
             AnswerDelta(1, "The best"), AnswerDelta(2, "Other"), MicLevel(1, 0.3, 0.9)]
    kept = coalesce(batch)
    assert kept == [batch[2], batch[3], batch[4], batch[5]]


def test_reader_numbers_each_new_queue_as_a_new_assistant_run():
    reader, first, second = EventReader(limit=10), queue.Queue(), queue.Queue()
    first.put(Transcript(1, "hello"))
    assert [reader.key(e) for e in reader.read(first)] == [(1, 1)]
    second.put(Transcript(1, "again"))
    assert [reader.key(e) for e in reader.read(second)] == [(2, 1)]
    assert reader.read(None) == []


def test_reader_takes_at_most_its_limit_per_call():
    reader, events = EventReader(limit=3), queue.Queue()
    for i in range(5):
        events.put(Transcript(i, str(i)))
    assert len(reader.read(events)) == 3 and len(reader.read(events)) == 2


def test_runs_data_and_both_charts_from_the_demo_db(demo_db):
    from labvoice.knowledge.store import ManifestStore

    runs = [r for r in ManifestStore(demo_db).runs() if r.dataset_id == "digits"][:3]
    ids = tuple(r.run_id for r in runs)
    facts = ({"kind": "leaderboard", "text": "Leaderboard by val_loss (lower is better): ...", "run_ids": list(ids)},)
    data = load_runs(demo_db, ids + ("deadbeef",), facts)
    assert data.metric == "val_loss" and data.lower_is_better
    assert [row.run_id for row in data.rows] == list(ids) and data.missing == ("deadbeef",)
    assert data.rows[0].key_metrics.startswith("val_loss ")
    assert len(data.curves) == 3 and all(len(epochs) == len(values) > 1 for _, epochs, values in data.curves)
    for mode in (CURVES, LEADERBOARD):
        image = np.asarray(render(data, mode, (480, 300), dark=False))
        assert image.shape == (300, 480, 4) and image[..., :3].std() > 10


def test_chart_metric_prefers_what_the_facts_name(demo_db):
    from labvoice.knowledge.store import ManifestStore

    runs = ManifestStore(demo_db).runs()
    assert chart_metric(runs, ({"text": "best train_loss"},)) == "train_loss"
    assert chart_metric(runs, ()) == "val_accuracy"


def test_error_texts_are_short_and_never_tracebacks(tmp_path):
    from labvoice.knowledge.store import ManifestStore, StoreError

    try:
        ManifestStore(tmp_path / "none.db").check()
    except StoreError as err:
        text = describe(err)
    assert "not found" in text and "Traceback" not in text
    many = describe(StoreError("db_unusable", "\n".join(f"line {i}" for i in range(20))))
    assert len(many.splitlines()) == MAX_LINES
    assert describe(ZeroDivisionError("x")).startswith("Unexpected ZeroDivisionError: x.")


def test_the_banner_button_comes_from_the_error_code_never_from_its_text(tmp_path):
    from labvoice.config import ConfigError
    from labvoice.events import ErrorEvent
    from labvoice.knowledge.index import FIX, IndexUnavailable, problems
    from labvoice.knowledge.store import ManifestStore, StoreError
    from labvoice.llm.base import LlmError
    from labvoice.models import ModelMissing, resolve_model

    with pytest.raises(StoreError) as missing_db:
        ManifestStore(tmp_path / "none.db").check()
    with pytest.raises(ModelMissing) as missing_model:
        resolve_model("llm", "no-such-model", tmp_path)
    no_index = problems(tmp_path / "none.db", None, tmp_path / "index", "minilm", chunking=None)
    assert [p.code for p in no_index] == ["index_missing"]

    def button(err):
        fix = fix_for(err)
        return (fix.label, fix.action, fix.command) if fix else None

    assert button(no_index[0]) == ("Build the index", "rebuild_index", "")
    assert button(IndexUnavailable("index_stale", "stale")) == ("Rebuild the index", "rebuild_index", "")
    assert missing_db.value.code == "db_missing"
    assert button(missing_db.value) == ("Choose a run DB", "choose_db", "")
    assert button(missing_model.value) == ("Copy install command", "copy_install",
                                           "python scripts/download_models.py --profile gpu")
    assert button(ConfigError("bad")) == ("Open settings", "open_settings", "")
    assert button(LlmError("the model stopped")) is None
    # The text that once picked the button picks nothing now: only a code does.
    assert button(RuntimeError(f"no knowledge index; build it with: {FIX}")) is None
    audio_lost = ErrorEvent(1, "audio", "device vanished; press Start to reopen the device", code="audio_device")
    assert fix_for_event(audio_lost).action == "reopen_audio"
    assert fix_for_event(ErrorEvent(1, "llm", "index gone", code="index_missing")).action == "rebuild_index"
    assert fix_for_event(ErrorEvent(1, "llm", "answering failed: build_index.py")) is None


def test_the_picture_fits_the_answer_groups_effect_distribution_and_a_capped_ranking(demo_db):
    """Real answers from the demo DB: a grouped answer draws its groups (value, spread, count), a
    parameter's effect its points, a distribution its own quartiles, a long ranking at most MAX_BARS."""
    from labvoice.gui.chart import MAX_BARS
    from labvoice.knowledge.facts import FactFinder
    from labvoice.knowledge.store import ManifestStore

    finder = FactFinder(ManifestStore(demo_db).runs())

    def data_for(question: str):
        result = finder.ask(question)
        rows = tuple(r.as_dict() for r in result.rows)
        return result, load_runs(demo_db, result.used_run_ids, tuple(f.as_dict() for f in result.facts), rows,
                                 result.shape)

    result, grouped = data_for("What is the average validation accuracy per dataset?")
    assert result.shape == "group" and grouped.picture == "groups" and grouped.statistic == "mean"
    assert {label for label, *_ in grouped.groups} == {r.group for r in result.rows}
    assert all(n >= 1 and spread >= 0 for *_, spread, n in grouped.groups)
    result, effect = data_for("How does the learning rate affect validation accuracy?")
    assert result.shape == "param_effect" and effect.picture == "effect" and len(effect.groups) >= 2
    result, spread = data_for("What is the distribution of validation accuracy?")
    assert result.shape == "distribution" and spread.picture == "distribution"
    assert [k for k, _ in spread.stats] == ["min", "q1", "median", "q3", "max"]
    result, ranking = data_for("List every run sorted by validation accuracy")
    assert ranking.picture == "runs" and len(ranking.values) == min(MAX_BARS, ranking.total)
    assert ranking.total == len([r for r in result.used_run_ids if r in {row.run_id for row in ranking.rows}])
    for data in (grouped, effect, spread, ranking):
        image = np.asarray(render(data, LEADERBOARD, (480, 300), dark=True))
        assert image.shape == (300, 480, 4) and image[..., :3].std() > 10
