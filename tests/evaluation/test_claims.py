"""The evaluation's independent claim check (evaluation/claims.py) on a DB written with plain
sqlite to the documented manifests schema (JSON lists for artifacts, NULL columns)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from labvoice.evaluation.claims import DbTruth

A, B = "4e768b79", "0a1b2c3d"
SCHEMA = ("CREATE TABLE manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash TEXT, git_diff TEXT, "
          "command TEXT, python_version TEXT, pip_freeze TEXT, device_info TEXT, dataset_id TEXT, "
          "params_json TEXT, final_metrics_json TEXT, artifacts_json TEXT, wandb_url TEXT, note TEXT)")


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> DbTruth:
    path = tmp_path_factory.mktemp("claims") / "runs.db"
    with sqlite3.connect(path) as con:
        con.execute(SCHEMA)
        con.execute("INSERT INTO manifests (run_id, timestamp, dataset_id, params_json, final_metrics_json, "
                    "artifacts_json) VALUES (?, ?, ?, ?, ?, ?)",
                    (A, "2026-11-20T10:00:00Z", "digits",
                     json.dumps({"model_name": "mlp", "learning_rate": 0.001, "n_epochs": 50}),
                     json.dumps({"val_accuracy": 0.98061}), json.dumps(["metrics.csv"])))
        con.execute("INSERT INTO manifests (run_id, dataset_id, params_json, final_metrics_json) VALUES (?, ?, ?, ?)",
                    (B, "digits", json.dumps({"model_name": "svm", "C": 10}), json.dumps({"val_accuracy": 0.9512})))
        con.execute("UPDATE manifests SET note = 'loss exploded to 106.5 at epoch 12' WHERE run_id = ?", (B,))
        con.execute("INSERT INTO manifests (run_id) VALUES ('ffff0000')")   # everything else NULL
    return DbTruth.load(path)


@pytest.mark.parametrize("answer", [
    f"The best run is {A} (mlp on digits, val_accuracy 0.98061).",
    f"{A} reached 98.1% after 50 epochs; {B} reached 0.951.",
    f"Run {A} logged on 2026-11-20T10:00:00Z used learning_rate 0.001.",
    "There are 12 runs, averaging 0.9612.",           # no run named: not a claim about a run
])
def test_true_answers_pass(truth, answer):
    report = truth.check(answer)
    assert report.ok, report


def test_an_invented_id_is_found(truth):
    report = truth.check(f"The best run is 1a2b3c4d, ahead of {A}.")
    assert report.invented_ids == ("1a2b3c4d",) and not report.wrong_values


def test_run_a_with_run_bs_value_is_a_wrong_value(truth):
    report = truth.check(f"{A} reached 0.9512 validation accuracy.")
    assert report.wrong_values == (f"run {A}: 0.9512",) and report.checked_values == 1


def test_each_number_belongs_to_the_run_named_before_it(truth):
    assert truth.check(f"{A} had 0.981 and {B} had 0.951.").ok
    assert not truth.check(f"{A} had 0.951 and {B} had 0.981.").ok


def test_a_margin_over_another_named_run_is_a_value(truth):
    assert truth.check(f"Best mlp: {A} (0.98061); best svm: {B} (0.9512). Ahead: {A} by 0.0294.").ok
    assert not truth.check(f"Best mlp: {A} (0.98061); best svm: {B} (0.9512). Ahead: {A} by 0.0411.").ok


def test_list_positions_and_semicolons(truth):
    report = truth.check(f"Runs: 11. {A} (val_accuracy 0.98061); 12. {B} (val_accuracy 0.9512; C 10)")
    assert report.ok and report.checked_values == 2


def test_counts_after_a_run_are_not_its_values(truth):
    assert truth.check(f"28 runs (C > 4): {A} (val_accuracy 0.98061); and 23 more").ok


def test_numbers_a_runs_note_says_are_its_own(truth):
    assert truth.check(f"{B} (svm on digits, note: loss exploded to 106.5 at epoch 12)").ok
    assert not truth.check(f"{A} (mlp on digits, note: loss exploded to 106.5 at epoch 12)").ok
