"""W&B offline run folders (made by wandb itself, WANDB_MODE=offline) and TensorBoard event files (made
by PyTorch's SummaryWriter): what comes in, curves for the chart, re-import, and half-readable sources."""
from __future__ import annotations

import shutil

import pytest

from labvoice.knowledge.importers import import_runs
from labvoice.knowledge.store import ManifestStore

from tests.knowledge.importers.conftest import labvoice_id, produce, rows, run_main

RUNS = 3


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wandb-offline")
    return folder, produce("wandb", folder, RUNS)


@pytest.fixture(scope="module")
def tb_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tensorboard") / "runs"
    return folder, produce("tensorboard", folder, RUNS)


def test_wandb_offline_runs_come_in_with_config_summary_and_history(wandb_dir, tmp_path):
    folder, made = wandb_dir
    db = tmp_path / "runs.db"
    proc = run_main("import", "wandb", str(folder), "--db", str(db))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{RUNS} new, 0 updated, {RUNS} with curves, 0 skipped" in proc.stdout
    runs = {r.run_id: r for r in ManifestStore(db).runs()}
    for spec in made:
        run = runs[labvoice_id(db, "wandb", spec["source_id"])]
        assert run.dataset_id == spec["dataset"] and run.model_kind == spec["model"]
        assert run.params["learning_rate"] == spec["lr"] and run.params["optimizer.name"] == "adam"
        assert run.params["run_name"] == f"{spec['model']}-{spec['index']}" and run.params["tags.project"] == "sweep"
        assert run.metrics == {"val_accuracy": spec["val_accuracy"], "val_loss": spec["val_loss"]}   # no "epoch"
        assert run.note == "from the sweep" and run.time is not None
        with open(run.metrics_csv) as fh:
            lines = fh.read().splitlines()
        assert lines[0] == "epoch,val_accuracy" and [float(x.split(",")[1]) for x in lines[1:]] == spec["curve"]


def test_wandb_half_readable_folder_imports_what_it_can(wandb_dir, tmp_path):
    folder, made = wandb_dir
    copy = shutil.copytree(folder, tmp_path / "copy")
    runs = sorted((copy / "wandb").glob("offline-run-*"))
    log = next(runs[0].glob("*.wandb"))
    log.write_bytes(log.read_bytes()[: len(log.read_bytes()) // 2])       # a run cut short
    next(runs[1].glob("*.wandb")).write_bytes(b"not a wandb log at all")  # a broken one
    db = tmp_path / "runs.db"
    report = import_runs("wandb", str(copy), db, tmp_path / "artifacts")
    assert report.added == RUNS - 1
    assert [s.what for s in report.skipped] == [runs[1].name]
    assert len(rows(db)) == RUNS - 1


def test_tensorboard_scalars_and_hparams_come_in(tb_dir, tmp_path):
    folder, made = tb_dir
    db = tmp_path / "runs.db"
    for _ in range(2):
        proc = run_main("import", "tensorboard", str(folder), "--db", str(db))
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"0 new, {RUNS} updated" in proc.stdout
    runs = {r.run_id: r for r in ManifestStore(db).runs()}
    assert len(runs) == RUNS                                  # add_hparams' child folder merged into its run
    for spec in made:
        run = runs[labvoice_id(db, "tensorboard", f"{folder.name}/{spec['source_id']}")]
        assert run.dataset_id == spec["dataset"] and run.params["learning_rate"] == spec["lr"]
        assert run.metrics["val_accuracy"] == spec["val_accuracy"]        # float32 noise rounded away
        assert run.metrics["hparam_val_loss"] == spec["val_loss"]
        with open(run.metrics_csv) as fh:
            assert fh.readline().strip() == "epoch,val_accuracy"


def test_tensorboard_folder_without_event_files_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_main("import", "tensorboard", str(tmp_path / "empty"), "--db", str(tmp_path / "runs.db"))
    assert proc.returncode == 2 and "no TensorBoard event files under" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "runs.db").exists()
