"""Three real processes write one SQLite file at once: a training script logging runs through
`log_run`, an importer bringing in CSV run tables, and the assistant flagging, unflagging and undoing
(the write journal). Over 1,000 operations in all, nothing is lost: every logged and imported run is
there with its values, every note is what its own sequence of writes makes it, and the record of
writes replays exactly to the notes in the DB."""
from __future__ import annotations

import csv
import json
import multiprocessing
import sqlite3
from pathlib import Path

from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.log_run import build_manifest_row, insert_row
from labvoice.knowledge.notes import flag_note, unflag_note
from labvoice.knowledge.store import ManifestStore, connect_rw

EXISTING = 60          # runs there before the three writers start (the ones the assistant flags)
LOGGED = 400           # log_run calls
IMPORTS, IMPORT_ROWS = 10, 32    # CSV tables imported, rows each
NOTE_OPS = 400         # flag / unflag / undo operations
START_TIMEOUT_S = 120


def existing_id(i: int) -> str:
    return f"e{i:07d}"


def first_notes() -> dict[str, str | None]:
    kinds = [None, "", "DO NOT PUBLISH yet: waiting on the ablation", "PUBLISH - camera ready", "multi\nline",
             "ünïcödé \u2014 note"]
    return {existing_id(i): kinds[i % len(kinds)] for i in range(EXISTING)}


def note_ops() -> list[tuple[str, tuple[str, ...]]]:
    """The assistant's writes: (flag | unflag | undo, run ids), some on two runs at once."""
    ops = []
    for i in range(NOTE_OPS):
        if i % 25 == 24:
            ops.append(("undo", ()))
            continue
        runs = (existing_id(i * 7 % EXISTING),) + ((existing_id((i * 7 + 1) % EXISTING),) if i % 10 == 3 else ())
        ops.append(("unflag" if i % 3 == 2 else "flag", runs))
    return ops


def expected_notes() -> dict[str, str | None]:
    """The notes the ops must leave, worked out here without SQLite: a change pushes, undo pops."""
    notes = first_notes()
    undo_stack: list[dict[str, str | None]] = []
    for action, runs in note_ops():
        if action == "undo":
            if undo_stack:
                notes.update(undo_stack.pop())
            continue
        change = flag_note if action == "flag" else unflag_note
        before = {r: notes[r] for r in runs if change(notes[r]) != notes[r]}
        for r in before:
            notes[r] = change(notes[r])
        if before:
            undo_stack.append(before)
    return notes


def _logger(db: str, start, out: str) -> None:
    from labvoice.knowledge.log_run import log_run

    @log_run(db=db, dataset_id="digits")
    def train(*, lr: float, step: int, run_id: str) -> dict:
        return {"metrics": {"val_accuracy": step / 1000}}

    start.wait(START_TIMEOUT_S)
    ids = [train(lr=1e-3, step=i, run_id=f"c{i:07d}").run_id for i in range(LOGGED)]
    Path(out).write_text(json.dumps(ids))


def _importer(db: str, start, folder: str) -> None:
    from labvoice.knowledge.importers import import_runs

    start.wait(START_TIMEOUT_S)
    for k in range(IMPORTS):
        source = Path(folder) / f"sweep{k}.csv"
        report = import_runs("csv", str(source), db, Path(folder) / "art")
        assert report.added == IMPORT_ROWS, report.summary()


def _flagger(db: str, start) -> None:
    journal = WriteJournal(db)
    store = ManifestStore(db)
    start.wait(START_TIMEOUT_S)
    for action, runs in note_ops():
        if action == "undo":
            journal.undo_last("undo that")
        elif len(runs) == 1:
            (store.flag_for_publishing if action == "flag" else store.unflag)(runs[0], f"{action} it")
        else:
            journal.apply({r: flag_note if action == "flag" else unflag_note for r in runs}, action, f"{action} those")


def _tables(folder: Path) -> dict[str, float]:
    """Write the CSV tables; returns trial id -> its val_loss (unique per row)."""
    values = {}
    for k in range(IMPORTS):
        with open(folder / f"sweep{k}.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["trial", "dataset", "model", "init_lr", "val_loss"])
            for j in range(IMPORT_ROWS):
                trial = f"t{k}-{j}"
                values[trial] = round(0.001 * (k * IMPORT_ROWS + j + 1), 6)
                writer.writerow([trial, "naval_propulsion", "mlp", "0.01", values[trial]])
    return values


def test_log_run_an_importer_and_flag_writes_lose_nothing(tmp_path):
    db = tmp_path / "runs.db"
    conn = connect_rw(db)
    for run_id, note in first_notes().items():
        row = build_manifest_row(run_id=run_id, dataset_id="iris", params={"model": "svm"}, metrics={"val_accuracy": 0.5})
        insert_row(conn, {**row, "note": note})
    conn.close()
    trials = _tables(tmp_path)
    assert LOGGED + IMPORTS * IMPORT_ROWS + NOTE_OPS > 1000

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=_logger, args=(str(db), start, str(tmp_path / "logged.json"))),
               ctx.Process(target=_importer, args=(str(db), start, str(tmp_path))),
               ctx.Process(target=_flagger, args=(str(db), start))]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(600)
    assert [w.exitcode for w in workers] == [0, 0, 0]

    runs = {r.run_id: r for r in ManifestStore(db).runs()}
    logged = json.loads((tmp_path / "logged.json").read_text())
    assert len(runs) == EXISTING + LOGGED + IMPORTS * IMPORT_ROWS
    assert all(runs[rid].metrics == {"val_accuracy": i / 1000} for i, rid in enumerate(logged))
    imported = {r.command.split(" ")[2]: r for r in runs.values() if r.command.startswith("csv run ")}
    assert {t: r.metrics.get("val_loss") for t, r in imported.items()} == trials

    with sqlite3.connect(db) as conn:
        notes = dict(conn.execute("SELECT run_id, note FROM manifests"))
    assert {rid: notes[rid] for rid in first_notes()} == expected_notes()
    assert all(notes[rid] in ("", None) for rid in notes if rid not in first_notes())
    replayed = first_notes()
    for record in reversed(WriteJournal(db).records()):        # oldest first: each write starts where the last ended
        assert replayed[record.run_id] == record.before
        replayed[record.run_id] = record.after
    assert replayed == expected_notes()
