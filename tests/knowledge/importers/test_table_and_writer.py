"""Run tables (CSV, JSONL) with guessed and explicit column maps, and the writer's promises: stable ids,
re-import updates and never duplicates, notes and other runs are never overwritten."""
from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from labvoice.cancel import CancelToken
from labvoice.knowledge.importers import import_runs
from labvoice.knowledge.importers.base import SourceError
from labvoice.knowledge.importers.writer import candidate_ids
from labvoice.knowledge.log_run import build_manifest_row, insert_row
from labvoice.knowledge.store import ManifestStore, connect_rw

from tests.knowledge.importers.conftest import ask, rows, run_main

HEADER = ["trial", "dataset", "model", "init_lr", "lr_schedule", "val_loss", "train_time", "created_at", "comment"]
TABLE = [
    ["t1", "naval_propulsion", "mlp", "0.01", "cosine", "0.031", "120.5", "2026-01-01T10:00:00Z", "first try"],
    ["t2", "naval_propulsion", "mlp", "0.001", "constant", "0.012", "300", "2026-01-02 10:00:00", ""],
    ["t3", "slice_localization", "xgboost", "0.1", "", "0.2", "50", "", ""],
    ["", "", "", "", "", "", "", "", ""],
]


def _write_csv(path, table=TABLE, header=HEADER):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(table)
    return path


def test_a_csv_with_unfamiliar_names_is_mapped_by_guessing(tmp_path):
    db = tmp_path / "runs.db"
    report = import_runs("csv", str(_write_csv(tmp_path / "sweep.csv")), db, tmp_path / "art")
    assert (report.added, [s.what for s in report.skipped]) == (3, ["sweep.csv row 4"])
    runs = {r.params.get("lr_schedule", "-"): r for r in ManifestStore(db).runs()}
    cosine = runs["cosine"]
    assert cosine.dataset_id == "naval_propulsion" and cosine.model_kind == "mlp"
    assert cosine.params == {"init_lr": 0.01, "lr_schedule": "cosine", "model": "mlp"}
    assert cosine.metrics == {"val_loss": 0.031, "train_time": 120.5}
    assert cosine.timestamp == "2026-01-01T10:00:00.000000+00:00" and cosine.note == "first try"
    assert cosine.command.startswith("csv run t1 of sweep.csv from ")


def test_an_explicit_column_map_wins_and_a_wrong_column_is_one_line(tmp_path):
    source = _write_csv(tmp_path / "sweep.csv")
    db = tmp_path / "runs.db"
    proc = run_main("import", "csv", str(source), "--db", str(db), "--id-col", "trial", "--metric-cols",
                    "val_loss", "--param-cols", "init_lr,train_time", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["added"] == 3
    run = next(r for r in ManifestStore(db).runs() if r.command.startswith("csv run t2 "))
    assert run.metrics == {"val_loss": 0.012} and run.params == {"init_lr": 0.001, "train_time": 300, "model": "mlp"}
    bad = run_main("import", "csv", str(source), "--db", str(db), "--dataset-col", "data")
    assert bad.returncode == 2 and "--dataset-col 'data' is not a column" in bad.stderr
    assert bad.stderr.count("\n") == 1 and len(rows(db)) == 3


def test_jsonl_with_nested_objects_and_a_bad_line(tmp_path):
    lines = [json.dumps({"id": "a", "config": {"dataset": "wine", "model": "svm", "opt": {"lr": 0.1}},
                         "summary": {"val_accuracy": 0.9, "note": "x"}}),
             "{broken json",
             json.dumps({"id": "b", "dataset": "wine", "val_accuracy": "0.95", "C": 2}),
             json.dumps([1, 2])]
    source = tmp_path / "runs.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = import_runs("jsonl", str(source), tmp_path / "runs.db", tmp_path / "art")
    assert report.added == 2
    assert [(s.what, s.why.split(" (")[0]) for s in report.skipped] == [
        ("runs.jsonl line 2", "not JSON"), ("runs.jsonl line 4", "a JSON list, not an object")]
    runs = {r.command.split()[2]: r for r in ManifestStore(tmp_path / "runs.db").runs()}
    assert runs["a"].params == {"dataset": "wine", "model": "svm", "opt.lr": 0.1} and runs["a"].dataset_id == "wine"
    assert runs["a"].metrics == {"val_accuracy": 0.9}
    assert runs["b"].metrics == {"val_accuracy": 0.95} and runs["b"].params == {"C": 2}
    with pytest.raises(SourceError, match="line 1 is not JSON"):
        (tmp_path / "bad.jsonl").write_text("not json\n")
        import_runs("jsonl", str(tmp_path / "bad.jsonl"), tmp_path / "runs.db", tmp_path / "art")


def test_reimport_updates_keeps_notes_and_never_touches_other_runs(tmp_path):
    db = tmp_path / "runs.db"
    conn = connect_rw(db)
    mine = build_manifest_row(run_id="0a1b2c3d", dataset_id="digits", params={"model": "mlp"},
                              metrics={"val_accuracy": 0.5})
    insert_row(conn, {**mine, "note": "my own run"})
    # a logged run that happens to hold the id the first table row would get
    taken = next(iter(candidate_ids("csv run t1 of sweep.csv")))
    insert_row(conn, {**mine, "run_id": taken, "note": "also mine"})
    conn.close()
    source = _write_csv(tmp_path / "sweep.csv")
    import_runs("csv", str(source), db, tmp_path / "art")
    t2 = next(r for r in ManifestStore(db).runs() if r.command.startswith("csv run t2 "))
    ManifestStore(db).flag_for_publishing(t2.run_id)
    changed = [row[:5] + ["0.5"] + row[6:] for row in TABLE[:3]] + TABLE[3:]     # val_loss changed in the source
    report = import_runs("csv", str(_write_csv(source, changed)), db, tmp_path / "art")
    assert (report.added, report.updated) == (0, 3)
    stored = {r["run_id"]: r for r in rows(db)}
    assert len(stored) == 5
    assert stored["0a1b2c3d"]["note"] == "my own run" and stored[taken]["note"] == "also mine"
    assert stored[taken]["command"] == mine["command"]                      # the logged run kept its row
    assert stored[t2.run_id]["note"] == "PUBLISH" and json.loads(stored[t2.run_id]["final_metrics_json"])["val_loss"] == 0.5


def test_run_ids_are_8_hex_with_a_letter_and_a_digit():
    ids = [next(iter(candidate_ids(f"csv run {i} of x.csv"))) for i in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 8 and any(c.isdigit() for c in i) and any(c.isalpha() for c in i) for i in ids)


def test_a_cancelled_import_stops_at_once_and_keeps_what_it_wrote(tmp_path):
    source = _write_csv(tmp_path / "big.csv", [[f"r{i}", "iris", "mlp", "0.1", "", str(i / 1e4), "1", "", ""]
                                               for i in range(1200)])
    cancel = CancelToken()
    cancel.cancel("stop")
    report = import_runs("csv", str(source), tmp_path / "runs.db", tmp_path / "art", cancel=cancel)
    assert report.cancelled and report.added == 1 == len(rows(tmp_path / "runs.db"))     # not 1,200


def test_a_table_import_is_answered_at_once(tmp_path):
    db = tmp_path / "runs.db"
    _write_csv(tmp_path / "sweep.csv")
    assert run_main("import", "csv", str(tmp_path / "sweep.csv"), "--db", str(db)).returncode == 0
    best = next(r.run_id for r in ManifestStore(db).runs() if r.command.startswith("csv run t2 "))
    answer = ask(db, "Which run has the lowest val_loss on naval_propulsion?", tmp_path)
    assert answer["used_run_ids"][0] == best, answer


def test_the_db_file_must_be_a_manifests_db(tmp_path):
    not_db = tmp_path / "runs.db"
    not_db.write_text("hello")
    proc = run_main("import", "csv", str(_write_csv(tmp_path / "s.csv")), "--db", str(not_db))
    assert proc.returncode == 2 and "not a usable SQLite database" in proc.stderr
    assert not_db.read_text() == "hello"
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(not_db).execute("SELECT 1 FROM manifests")


def test_a_missing_tracker_library_names_the_extra(tmp_path):
    """Without the importers extra (wandb made unimportable in a child process) the command says what
    to install, in one line."""
    import subprocess
    import sys

    from tests.knowledge.importers.conftest import ROOT

    code = ("import sys; sys.modules['wandb'] = None; sys.path.insert(0, 'src'); from labvoice.cli import main; "
            f"sys.exit(main(['import', 'wandb', {str(tmp_path)!r}, '--db', {str(tmp_path / 'runs.db')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "importing from wandb needs the wandb package; install it with: pip install -e '.[importers]'" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "runs.db").exists()
