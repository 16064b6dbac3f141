"""The write journal on a real SQLite file: a write and its record commit together, the record is
append-only, undo puts back exactly what the write found (from a new process too: after a restart),
refuses when the note changed since, and the `manifests` schema stays exactly as documented."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from labvoice.knowledge.errors import WriteError
from labvoice.knowledge.journal import TABLE, WriteJournal, format_record
from labvoice.knowledge.log_run import build_manifest_row, insert_row
from labvoice.knowledge.notes import flag_note, unflag_note
from labvoice.knowledge.store import COLUMNS, ManifestStore, StoreError, connect_rw


def _db(path, notes: dict[str, str | None]):
    conn = connect_rw(path)
    for run_id, note in notes.items():
        row = build_manifest_row(run_id=run_id, dataset_id="digits", params={"model": "mlp"},
                                 metrics={"val_accuracy": 0.9})
        insert_row(conn, {**row, "note": note})
    conn.close()
    return path


def _notes(path) -> dict[str, str | None]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT run_id, note FROM manifests"))


NOTES = {"aaaa0001": "DO NOT PUBLISH yet: waiting on the ablation", "aaaa0002": None, "aaaa0003": "",
         "aaaa0004": "PUBLISH - camera ready"}


def test_a_write_and_its_record_commit_together(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    journal = WriteJournal(db)
    batch = journal.apply({r: flag_note for r in NOTES}, "flag", "flag those")
    assert batch.run_ids == ("aaaa0001", "aaaa0002", "aaaa0003") and batch.unchanged == ("aaaa0004",)
    records = journal.records()
    assert [(r.run_id, r.before, r.after, r.words, r.batch) for r in reversed(records)] == [
        ("aaaa0001", NOTES["aaaa0001"], "PUBLISH; " + NOTES["aaaa0001"], "flag those", batch.batch),
        ("aaaa0002", None, "PUBLISH", "flag those", batch.batch),
        ("aaaa0003", "", "PUBLISH; ", "flag those", batch.batch)]
    assert "flag run aaaa0002: None -> 'PUBLISH'" in format_record(records[1])
    assert journal.apply({"aaaa0004": flag_note}, "flag", "again").batch == 0     # nothing changed, nothing recorded
    assert len(journal.records()) == 3


def test_a_missing_run_changes_nothing(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    with pytest.raises(WriteError) as err:
        WriteJournal(db).apply({"aaaa0001": flag_note, "gone0000": flag_note}, "flag", "flag both")
    assert err.value.code == "no_run" and isinstance(err.value, StoreError)
    assert _notes(db) == NOTES and WriteJournal(db).records() == []


def test_the_record_is_append_only(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    ManifestStore(db).flag_for_publishing("aaaa0002", "flag it")
    with sqlite3.connect(db) as conn:
        for statement in (f"UPDATE {TABLE} SET after = 'x'", f"DELETE FROM {TABLE}"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    assert WriteJournal(db).records()[0].after == "PUBLISH"


def test_undo_in_a_new_process_restores_exactly(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    WriteJournal(db).apply({r: flag_note for r in NOTES}, "flag", "flag all")
    WriteJournal(db).apply({"aaaa0004": unflag_note}, "unflag", "unflag the camera-ready one")
    code = ("import sys; from labvoice.knowledge.journal import WriteJournal; "
            "b = WriteJournal(sys.argv[1]).undo_last('undo that'); print(b.undoes, len(b.changes))")
    for expected in ("2 1", "1 3"):        # the unflag first, then the flag of three runs
        out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True)
        assert out.stdout.split() == expected.split()
    assert _notes(db) == NOTES
    with pytest.raises(WriteError) as err:
        WriteJournal(db).undo_last("undo that")
    assert err.value.code == "nothing_to_undo"
    assert [r.action for r in WriteJournal(db).records()].count("undo") == 4


def test_undo_refuses_when_the_note_changed_since(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    WriteJournal(db).apply({"aaaa0001": flag_note, "aaaa0003": flag_note}, "flag", "flag those two")
    with sqlite3.connect(db) as conn:     # another tool edits one of them afterwards
        conn.execute("UPDATE manifests SET note = 'edited elsewhere' WHERE run_id = 'aaaa0003'")
    with pytest.raises(WriteError) as err:
        WriteJournal(db).undo_last("undo that")
    assert err.value.code == "changed_since"
    assert _notes(db)["aaaa0001"] == "PUBLISH; " + NOTES["aaaa0001"]     # nothing undone, not even half


def test_the_manifests_schema_stays_as_documented(tmp_path):
    db = _db(tmp_path / "runs.db", NOTES)
    ManifestStore(db).unflag("aaaa0004", "unflag it")
    with sqlite3.connect(db) as conn:
        columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(manifests)"))
    assert columns == COLUMNS
    assert ManifestStore(db).check() == COLUMNS and len(ManifestStore(db).runs()) == 4


def test_a_db_without_a_note_column_says_how_to_add_one(tmp_path):
    db = tmp_path / "lean.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE manifests (run_id TEXT PRIMARY KEY, dataset_id TEXT)")
        conn.execute("INSERT INTO manifests VALUES ('bbbb0001', 'iris')")
    with pytest.raises(WriteError, match="ADD COLUMN note") as err:
        ManifestStore(db).flag_for_publishing("bbbb0001")
    assert err.value.code == "no_note_column"
