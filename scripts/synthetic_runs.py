"""Write a large synthetic run DB with plain sqlite3, exactly in the documented `manifests` schema.

    python scripts/synthetic_runs.py --runs 100000 --db /tmp/runs100k.db

No labvoice code writes the rows (the benchmark must read what other tools write): `artifacts_json`
is a JSON list of paths, timestamps come with and without a zone, and some columns are NULL. A dozen
datasets, three model families with 5-9 parameters each, five to six metrics, and about one run in a
hundred with a note (half of them the `PUBLISH` flag), as in a real sweep history. Seeded: the same
arguments give the same DB.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATASETS = ("digits", "iris", "wine", "breast_cancer", "mnist", "fashion_mnist", "cifar10", "naval_propulsion",
            "slice_localization", "protein_structure", "imdb", "covertype")
# model family -> parameter name -> values to draw from (5, 7 and 9 parameters)
FAMILIES = {
    "random_forest": {"n_estimators": (50, 100, 200, 400), "max_depth": (4, 8, 16, 32),
                      "min_samples_leaf": (1, 2, 5), "max_features": (0.3, 0.5, 0.8), "seed": (0, 1, 2, 3, 4)},
    "gradient_boosting": {"learning_rate": (0.01, 0.03, 0.1, 0.3), "n_estimators": (100, 300, 1000),
                          "max_depth": (3, 5, 7), "subsample": (0.6, 0.8, 1.0), "min_child_weight": (1, 3, 10),
                          "colsample_bytree": (0.5, 0.8, 1.0), "seed": (0, 1, 2, 3, 4)},
    "mlp": {"init_lr": (1e-4, 3e-4, 1e-3, 3e-3), "batch_size": (32, 64, 128, 256), "n_layers": (1, 2, 3, 4),
            "hidden_units": (64, 128, 256, 512), "dropout": (0.0, 0.1, 0.3), "weight_decay": (0.0, 1e-5, 1e-4),
            "epochs": (10, 20, 50, 100), "lr_schedule": ("cosine", "constant", "step"), "seed": (0, 1, 2, 3, 4)},
}
NOTE_EVERY = 100          # about one run in a hundred carries a note
NOTES = ("diverged after epoch {n}", "loss spiked at step {n}00, restarted", "rerun with seed {n}",
         "baseline for the ablation table", "suspicious: val accuracy above train accuracy",
         "ran on a shared GPU, timings unreliable")
PUBLISH = "PUBLISH"
SEED = 0
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
INSERT = ("INSERT INTO manifests (run_id, timestamp, git_hash, git_diff, command, python_version, pip_freeze, "
          "device_info, dataset_id, params_json, final_metrics_json, artifacts_json, wandb_url, note) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
SCHEMA = """CREATE TABLE IF NOT EXISTS manifests (
    run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash TEXT, git_diff TEXT, command TEXT, python_version TEXT,
    pip_freeze TEXT, device_info TEXT, dataset_id TEXT, params_json TEXT, final_metrics_json TEXT,
    artifacts_json TEXT, wandb_url TEXT, note TEXT)"""
BATCH = 5000


def _row(i: int, rng: random.Random, used: set[str]) -> tuple:
    run_id = f"{rng.getrandbits(48):012x}"
    while run_id in used:
        run_id = f"{rng.getrandbits(48):012x}"
    used.add(run_id)
    dataset = DATASETS[i % len(DATASETS)]
    family = tuple(FAMILIES)[(i // len(DATASETS)) % len(FAMILIES)]
    params = {"model": family, **{k: rng.choice(v) for k, v in FAMILIES[family].items()}}
    base = 0.55 + 0.4 * rng.random()
    metrics = {"val_accuracy": round(base, 5), "val_loss": round(rng.expovariate(2.5), 5),
               "train_loss": round(rng.expovariate(4.0), 5), "train_time": round(rng.uniform(2, 3600), 1),
               "val_f1": round(base - 0.03 * rng.random(), 5)}
    if i % 3:
        metrics["test_accuracy"] = round(base - 0.02 * rng.random(), 5)
    moment = START + timedelta(minutes=7 * i + rng.randint(0, 6))
    stamp = moment.isoformat() if i % 4 else moment.replace(tzinfo=None).isoformat(sep=" ")  # with and without zone
    note = None
    if i % NOTE_EVERY == 0:
        note = PUBLISH if (i // NOTE_EVERY) % 2 else rng.choice(NOTES).format(n=rng.randint(2, 9))
    argv = " ".join(f"--{k} {v}" for k, v in params.items() if k != "model")
    return (run_id, stamp, f"{rng.getrandbits(40):010x}" if i % 5 else None, None,
            f"python train.py --model {family} --dataset {dataset} {argv}", "3.11.9", None,
            "cpu: 2 cores" if i % 2 else None, dataset, json.dumps(params), json.dumps(metrics),
            json.dumps([f"artifacts/{run_id}/metrics.csv", f"artifacts/{run_id}/model.bin"]) if i % 7 else None,
            None, note)


def write_db(path: Path, runs: int, seed: int = SEED) -> float:
    """Create `path` (must not exist) holding `runs` synthetic runs; returns seconds taken."""
    started = time.perf_counter()
    if path.exists():
        raise FileExistsError(f"{path} exists; pass a new path")
    rng, used = random.Random(seed), set()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
        with conn:
            for start in range(0, runs, BATCH):
                conn.executemany(INSERT, [_row(i, rng, used) for i in range(start, min(runs, start + BATCH))])
    finally:
        conn.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", type=Path, required=True, help="a new .db file")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    try:
        seconds = write_db(args.db, args.runs, args.seed)
    except (FileExistsError, sqlite3.Error, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.runs:,} runs written to {args.db} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
