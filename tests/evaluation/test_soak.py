"""The soak driver on the text path (no audio devices): every kind of action runs, the turns are
counted, nothing errs or goes stale, threads do not grow, and the summary has the issue's fields.
(The 500-turn soak through the virtual devices is `scripts/soak.py`; see docs/reliability.md.)"""
from __future__ import annotations

import importlib.util

from labvoice.audio.wavio import to_pipeline_rate
from labvoice.config import PROJECT_ROOT
from labvoice.evaluation.soak import TURNS_PER_ACTION, Soak, SpokenQuestion, summary
from labvoice.pipeline.orchestrator import Orchestrator

from tests.pipeline.conftest import copy_db, rewire

ISSUE_FIELDS = {"turns", "errors", "threads_start", "threads_end", "rss_mb_start", "rss_mb_end",
                "rss_slope_mb_per_100_turns", "stale_audio_after_interrupt", "latency_p50_ms_first_quarter",
                "latency_p50_ms_last_quarter"}
ONE_OF_EACH = tuple((action, 1) for action in TURNS_PER_ACTION)
TURNS = sum(TURNS_PER_ACTION.values())


def test_soak_runs_every_action_on_the_text_path(live_stages, heldout_db, tmp_path):
    stages = rewire(live_stages, db=copy_db(heldout_db[0], tmp_path / "runs.db"), index=tmp_path / "no-index",
                    logs=tmp_path / "logs")
    orch = Orchestrator(stages.config, stages=stages, with_audio_input=False, with_audio_output=False)
    voice = live_stages.synthesizer
    text = "How many runs used an MLP?"
    spoken = [SpokenQuestion(text, tmp_path / "unused.wav", to_pipeline_rate(voice.synthesize_all(text), voice.sample_rate))]
    orch.start()
    try:
        soak = Soak(orch, [text, "Hi there!"], spoken, seed=3, workdir=tmp_path, block=ONE_OF_EACH)
        result = soak.run(TURNS)
    finally:
        orch.stop()
    out = summary(result, "one of each action")
    assert ISSUE_FIELDS <= set(out)
    assert out["turns"] >= TURNS and out["errors"] == 0 and out["hung_turns"] == 0, out["error_samples"]
    assert set(out["actions"]) == set(TURNS_PER_ACTION)
    assert out["stale_audio_after_interrupt"] == 0
    assert out["threads_end"] <= out["threads_start"]
    assert out["latency_p50_ms_first_quarter"] is not None and out["rss_mb_end"] > 0
    assert set(out["latency_p50_ms_by_source"]) == {"text", "voice"}   # typed and ask_audio turns


def test_soak_script_refuses_too_few_turns():
    spec = importlib.util.spec_from_file_location("labvoice_soak_script", PROJECT_ROOT / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--turns", "2", "--no-virtual-audio"]) == module.EXIT_BAD_INPUT
    assert module.targets_missed({"errors": 0, "threads_start": 9, "threads_end": 10,
                                  "rss_slope_mb_per_100_turns": 60.0, "stale_audio_after_interrupt": 1,
                                  "latency_drift_p50": 0.3}) == [
        "threads grew 9 -> 10", "RSS grows 60.0 MB per 100 turns", "1 stale audio after interrupts",
        "p50 latency drifted +30%"]


def test_the_rss_slope_is_fitted_over_the_last_200_turns_or_two_thirds_of_a_shorter_run():
    from labvoice.evaluation.soak import slope_window, tail_slope

    assert (slope_window(60), slope_window(300), slope_window(500)) == (40, 200, 200)
    turns = list(range(1, 301))
    step_then_flat = [900.0 + (150.0 if t >= 50 else 3.0 * t) for t in turns]   # first-use growth, then flat
    assert abs(tail_slope(turns, step_then_flat)) < 1e-9
    growing = [900.0 + 0.5 * t for t in turns]                                    # 50 MB per 100 turns
    assert round(tail_slope(turns, growing), 6) == 50.0


def test_the_memory_trace_names_the_site_that_grew():
    from labvoice.evaluation.memory import MemoryTrace

    trace = MemoryTrace().start()
    kept = []
    try:
        trace.mark()
        kept.extend(bytearray(64 * 1024) for _ in range(40))    # 2.5 MiB that stays
        sites = trace.top_growing(3)
    finally:
        trace.stop()
    assert sites and sites[0].grew_kib >= 2500 and "tests/evaluation/test_soak.py" in sites[0].where


def test_the_memory_split_says_which_action_grows_rss_in_the_slope_window():
    from labvoice.evaluation.soak import SoakResult, memory_split

    res = SoakResult(rss_turns=list(range(1, 61)), rss_actions=["text", "spoken"] * 30,
                     rss_mb=[900.0 + (i + 1) // 2 for i in range(60)],          # +1 MB after each spoken action
                     malloc_in_use_mb=[500.0 + 0.5 * i for i in range(60)], malloc_free_held_mb=[20.0] * 60)
    out = memory_split(res)
    assert out["rss_mb_per_action_in_slope_window"] == {"spoken": 1.0, "text": 0.0}
    assert out["malloc_in_use_slope_mb_per_100_turns"] == 50.0 and out["malloc_free_held_slope_mb_per_100_turns"] == 0.0
