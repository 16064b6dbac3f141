"""The manifests store: unusable files, malformed rows, notes, and reads during a write (WAL)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from labvoice.knowledge.log_run import build_manifest_row, insert_row
from labvoice.knowledge.store import SCHEMA, ManifestStore, StoreError, connect_rw


def _row(run_id: str, **overrides) -> dict:
    row = build_manifest_row(run_id=run_id, dataset_id="iris", params={"model": "mlp", "seed": 0},
                             metrics={"val_accuracy": 0.9}, artifacts={})
    return {**row, **overrides}


def _insert(path, *rows) -> None:
    conn = connect_rw(path)
    try:
        for row in rows:
            insert_row(conn, row)
    finally:
        conn.close()


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    path = tmp_path / "runs.db"
    path.write_text("run_id,val_accuracy\nabc,0.9\n")
    with pytest.raises(StoreError, match="is not a SQLite database") as err:
        ManifestStore(path).load()
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_db_names_the_fix(tmp_path):
    with pytest.raises(StoreError, match="not found.*--db PATH"):
        ManifestStore(tmp_path / "nope.db").load()


def test_a_sqlite_db_without_the_manifests_table(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE experiments (id TEXT)")
    conn.close()
    with pytest.raises(StoreError, match="has no `manifests` table"):
        ManifestStore(path).check()


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("good0001"), _row("good0002", final_metrics_json=json.dumps({"val_accuracy": 0.5})),
            _row("badjson1", params_json="{not json"),
            _row("badjson2", final_metrics_json="[1, 2]"),
            _row("nometric", final_metrics_json=json.dumps({"val_accuracy": "high"})))
    report = ManifestStore(path).load()
    # a run whose metrics are all unusable is still a run (it can be listed and counted)
    assert sorted(r.run_id for r in report.runs) == ["good0001", "good0002", "nometric"]
    assert next(r for r in report.runs if r.run_id == "nometric").metrics == {}
    assert report.skipped == 2
    assert {reason.split(":")[0] for reason in report.skipped_reasons} == {"badjson1", "badjson2"}


def test_a_db_whose_rows_are_all_unreadable_is_an_error_naming_the_column(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, *(_row(f"bad{i:05d}", final_metrics_json="accuracy was great") for i in range(3)),
            _row("badparam", params_json="[1, 2]"))
    with pytest.raises(StoreError) as err:
        ManifestStore(path).load()
    message = str(err.value)
    assert "none of its 4 runs can be read" in message and "\n" not in message
    assert "column final_metrics_json should hold a JSON object" in message and "'accuracy was great'" in message


def test_an_empty_db_is_not_an_error(tmp_path):
    path = tmp_path / "runs.db"
    connect_rw(path).close()
    assert ManifestStore(path).load().runs == []


def test_non_finite_metrics_are_dropped_from_a_run(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("nan00001", final_metrics_json='{"val_accuracy": 0.7, "val_loss": NaN}'))
    (run,) = ManifestStore(path).runs()
    assert run.metrics == {"val_accuracy": 0.7}


def test_read_succeeds_while_a_writer_holds_a_write_transaction(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("committed"))
    writer = connect_rw(path)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO manifests (run_id, final_metrics_json) VALUES ('pending1', '{\"a\": 1}')")
        runs = ManifestStore(path).runs()     # read while the writer still holds its lock (the wait: bench_timing.py)
        assert [r.run_id for r in runs] == ["committed"]     # the uncommitted row is not visible
        writer.commit()
    finally:
        writer.close()
    assert sorted(r.run_id for r in ManifestStore(path).runs()) == ["committed", "pending1"]


def test_set_note_is_committed_and_changes_the_fingerprint(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("note0001"))
    store = ManifestStore(path)
    before = store.fingerprint_rows()["note0001"]
    store.set_note("note0001", "PUBLISH")
    assert store.runs()[0].note == "PUBLISH"
    assert store.fingerprint_rows()["note0001"] != before


def test_set_note_on_an_unknown_run_is_an_error(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("note0001"))
    with pytest.raises(StoreError, match="no run with id 'missing1'"):
        ManifestStore(path).set_note("missing1", "PUBLISH")


def test_the_schema_is_the_documented_one(tmp_path):
    path = tmp_path / "runs.db"
    connect_rw(path).close()
    with sqlite3.connect(path) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(manifests)")]
    conn.close()
    assert columns == ["run_id", "timestamp", "git_hash", "git_diff", "command", "python_version",
                       "pip_freeze", "device_info", "dataset_id", "params_json", "final_metrics_json",
                       "artifacts_json", "wandb_url", "note"]
    assert "CREATE TABLE IF NOT EXISTS manifests" in SCHEMA


def test_flag_and_unflag_keep_the_users_note(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("note0001", note="diverged after epoch 4"), _row("note0002"))
    store = ManifestStore(path)
    assert store.flag_for_publishing("note0001") == "PUBLISH; diverged after epoch 4"
    assert store.flag_for_publishing("note0001") == "PUBLISH; diverged after epoch 4"   # once only
    assert store.flag_for_publishing("note0002") == "PUBLISH; "      # an empty note: the marker and separator
    notes = {r.run_id: r.note for r in store.runs()}
    assert notes == {"note0001": "PUBLISH; diverged after epoch 4", "note0002": "PUBLISH; "}
    assert store.unflag("note0001") == "diverged after epoch 4"
    assert store.unflag("note0002") == ""
    assert {r.run_id: r.note for r in store.runs()} == {"note0001": "diverged after epoch 4", "note0002": ""}
    with pytest.raises(StoreError, match="no run with id 'missing1'"):
        store.flag_for_publishing("missing1")


def test_a_failed_note_edit_changes_nothing(tmp_path):
    path = tmp_path / "runs.db"
    _insert(path, _row("note0001", note="keep me"))
    store = ManifestStore(path)

    def broken(_note: str) -> str:
        raise RuntimeError("edit failed")

    with pytest.raises(RuntimeError, match="edit failed"):
        store.edit_note("note0001", broken)
    assert store.runs()[0].note == "keep me"
    store.set_note("note0001", "still writable")     # the failed edit left no lock behind
    assert store.runs()[0].note == "still writable"
