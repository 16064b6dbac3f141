"""Live runs: a refresh parses only new and changed rows, and a run logged while the assistant runs is
in the next answer with no restart and no index rebuild (real SQLite, real embedder and index)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from labvoice.answer.grounded import GroundedAnswerer
from labvoice.cancel import CancelToken
from labvoice.knowledge.live_runs import LiveRuns, shared_runs
from labvoice.knowledge.log_run import log_run
from labvoice.knowledge.passages import LiveIndex
from labvoice.knowledge.retriever import Retriever
from labvoice.knowledge.store import ManifestStore
from labvoice.knowledge.versioned_dir import POINTER
from labvoice.style import Style

from tests.pipeline.faults import ScriptedChat

INSERT = ("INSERT INTO manifests (run_id, timestamp, git_hash, git_diff, command, python_version, pip_freeze, "
          "device_info, dataset_id, params_json, final_metrics_json, artifacts_json, wandb_url, note) "
          "VALUES (?, ?, NULL, NULL, ?, NULL, NULL, NULL, ?, ?, ?, ?, NULL, NULL)")


def _insert_documented_row(db: Path, run_id: str, dataset: str, val_accuracy: float) -> None:
    """A run written the way another tool writes one: plain sqlite3, the documented schema."""
    with sqlite3.connect(db) as conn:
        conn.execute(INSERT, (run_id, "2031-05-01T09:00:00Z", "python train.py", dataset,
                              json.dumps({"model": "mlp", "learning_rate": 0.001}),
                              json.dumps({"val_accuracy": val_accuracy}),
                              json.dumps([f"artifacts/{run_id}/metrics.csv"])))
    conn.close()


def test_a_refresh_parses_only_new_and_changed_rows(demo_db_copy):
    live = LiveRuns(demo_db_copy)
    first = live.snapshot()
    total = len(first.runs)
    assert first.stats.parsed == total == first.stats.scanned and first.version == 1
    assert live.snapshot() is first                                  # nothing changed on disk
    new_id = log_run(db=demo_db_copy, dataset_id="wine")(lambda **p: {"metrics": {"val_accuracy": 0.5}})(
        model="mlp", seed=7).run_id
    added = live.snapshot()
    assert (added.stats.parsed, added.stats.removed, len(added.runs)) == (1, 0, total + 1)
    assert added.runs[-1].run_id == new_id
    ManifestStore(demo_db_copy).set_note(first.runs[0].run_id, "rerun on the new GPU")
    noted = live.snapshot()
    assert noted.stats.parsed == 1 and noted.runs[0].note == "rerun on the new GPU"
    assert noted.runs[1] is first.runs[1]                             # unchanged runs are reused
    with sqlite3.connect(demo_db_copy) as conn:
        conn.execute("DELETE FROM manifests WHERE run_id = ?", (first.runs[2].run_id,))
        conn.execute(INSERT, ("broken01", None, None, "wine", "{not json", None, None))
    conn.close()
    after = live.snapshot()
    assert (after.stats.parsed, after.stats.removed, len(after.runs), after.skipped) == (1, 1, total, 1)
    assert "broken01" in after.skipped_reasons[0] and "params_json" in after.skipped_reasons[0]
    assert after.version == 4


def test_repeated_names_are_held_once(demo_db_copy):
    runs = LiveRuns(demo_db_copy).snapshot().runs
    digits = [r for r in runs if r.dataset_id == "digits"]
    assert len(digits) > 1 and digits[0].dataset_id is digits[1].dataset_id
    a, b = digits[0], digits[1]
    key_a = next(k for k in a.params if k == "seed")
    key_b = next(k for k in b.params if k == "seed")
    assert key_a is key_b
    assert next(k for k in a.metrics if k == "val_accuracy") is next(k for k in b.metrics if k == "val_accuracy")


def test_derived_values_are_built_once_per_db_change(demo_db_copy):
    live = LiveRuns(demo_db_copy)
    built = []
    snapshot = live.snapshot()
    for _ in range(3):
        snapshot.derived("count", lambda runs: built.append(len(runs)) or len(runs))
    assert built == [len(snapshot.runs)] and snapshot.vocab is snapshot.vocab
    _insert_documented_row(demo_db_copy, "fresh001", "iris", 0.5)
    assert live.snapshot().derived("count", lambda runs: built.append(len(runs)) or len(runs)) == built[0] + 1
    assert shared_runs(demo_db_copy) is shared_runs(str(demo_db_copy))


def test_a_run_logged_after_the_retriever_was_built_is_in_the_next_answer(config, demo_db_copy, demo_index_copy,
                                                                          embedder):
    cfg = config.replace(**{"paths.db": demo_db_copy, "paths.index": demo_index_copy, "llm.facts_first": True})
    retriever = Retriever.from_config(cfg, LiveIndex(demo_index_copy, embedder))
    grounded = GroundedAnswerer(retriever, ScriptedChat.saying("Nice."), cfg.llm, cfg.pipeline)
    question = "Which run has the best validation accuracy on digits?"
    before = grounded.answer(question, Style(verbosity=0.2), CancelToken()).finish()
    assert "digitz99" not in before.display and before.used_run_ids
    index_version = (demo_index_copy / POINTER).read_text()
    _insert_documented_row(demo_db_copy, "digitz99", "digits", 0.9999)
    after = grounded.answer(question, Style(verbosity=0.2), CancelToken()).finish()
    assert after.used_run_ids[0] == "digitz99" and "digitz99" in after.display
    assert (demo_index_copy / POINTER).read_text() == index_version          # no index rebuild
    assert retriever.passages.current().directory.name == index_version.strip()


def test_a_table_without_rowids_is_read_too(tmp_path):
    db = tmp_path / "norowid.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash TEXT, git_diff TEXT, "
                     "command TEXT, python_version TEXT, pip_freeze TEXT, device_info TEXT, dataset_id TEXT, "
                     "params_json TEXT, final_metrics_json TEXT, artifacts_json TEXT, wandb_url TEXT, note TEXT) "
                     "WITHOUT ROWID")
    conn.close()
    _insert_documented_row(db, "first001", "iris", 0.5)
    live = LiveRuns(db)
    assert [r.run_id for r in live.snapshot().runs] == ["first001"]
    _insert_documented_row(db, "second02", "iris", 0.6)
    assert sorted(r.run_id for r in live.snapshot().runs) == ["first001", "second02"]
