"""The lifecycle stress test, short version (the long one: `python scripts/soak.py --stress 3000`):
seeded random interleavings of typed and spoken questions (through the virtual microphone and
`ask_audio`), interrupts, barge-ins, pause/resume and stop/start, against the real models and the
PulseAudio virtual devices. After every step: every turn ends exactly once, nothing stale is
played (ChunkPlayed after a cut, or sound on the virtual speaker outside what the status called
speaking), status and speaking agree, no error. See labvoice.evaluation.stress."""
from __future__ import annotations

from labvoice.audio.wavio import read_for_pipeline
from labvoice.evaluation.soak import SpokenQuestion
from labvoice.evaluation.stress import ACTIONS, LifecycleStress
from labvoice.knowledge.store import copy_db
from labvoice.pipeline.orchestrator import Orchestrator

from tests.pipeline.conftest import rewire

STEPS = 100
SEED = 20261130
# The virtual speaker does not feed the virtual mic (no echo path): what headphones are. The echo
# canceller has its own tests (tests/audio/test_echo.py, tests/pipeline/test_echo_barge_in.py).
HEADPHONES = {"audio.echo_canceller": "none", "pipeline.barge_in": "headphones"}
QUESTIONS = ("How many runs used an MLP?", "Hi there, how are you?", "Thanks, that's all for now.",
             "Which run had the best validation accuracy on mnist?")


def test_random_lifecycle_steps_keep_every_invariant(live_stages, heldout_db, virtual_audio, spoken_questions,
                                                     tmp_path):
    stages = rewire(live_stages, db=copy_db(heldout_db[0], tmp_path / "runs.db"), index=tmp_path / "no-index",
                    logs=tmp_path / "logs", settings=HEADPHONES)
    orch = Orchestrator(stages.config, stages=stages)   # the virtual mic and speaker
    orch.set_style(verbosity=0.0)
    spoken = [SpokenQuestion(q.text, q.path, read_for_pipeline(q.path, stages.config.audio.sample_rate))
              for q in spoken_questions]
    orch.start()
    stress = LifecycleStress(orch, list(QUESTIONS), spoken, mic=virtual_audio, seed=SEED, workdir=tmp_path)
    try:
        result = stress.run(STEPS)
    finally:
        stress.close()
        orch.stop()
    out = result.summary()
    print(f"\nlifecycle stress: {out}")
    assert out["violations"] == 0, out["violation_samples"]
    assert out["errors"] == 0, out["error_samples"]
    assert out["stale_audio"] == 0 and out["stale_chunks"] == 0
    assert out["turns_started"] == out["turns_ended"] > 0
    assert out["threads_after"] <= out["threads_before"]
    # It did what it claims to cover: every kind of step, turns cut and turns answered, audio checked.
    assert set(out["actions"]) == {name for name, _ in ACTIONS}
    assert out["endings"].get("done", 0) > 0 and out["endings"].get("interrupted", 0) > 0
    assert out["restarts"] > 0 and out["audio_checked_s"] > 0
