"""Run DBs for the query suite, written without labvoice's own writer: one by plain sqlite3 to the
documented `manifests` schema (JSON lists for artifacts, NULL columns, time zones), and one with
names the parser was not designed for (`init_lr`, `n_units_1`, `lr_schedule`, a `val_loss` to
minimise, an accuracy stored as a percentage, datasets like `naval_propulsion`). The third DB of
the suite is the demo DB (examples/train_demo.py through `log_run`), built by the caller.

Both builders are deterministic (seeded) and place runs at fixed times before `SUITE_NOW`, so
questions about "last week" or "in November" have one right answer.
"""
from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

SUITE_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
SCHEMA = """CREATE TABLE manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash TEXT, git_diff TEXT,
command TEXT, python_version TEXT, pip_freeze TEXT, device_info TEXT, dataset_id TEXT, params_json TEXT,
final_metrics_json TEXT, artifacts_json TEXT, wandb_url TEXT, note TEXT)"""


def _run_id(rng: random.Random) -> str:
    while True:
        rid = "".join(rng.choice("0123456789abcdef") for _ in range(8))
        if any(c.isdigit() for c in rid) and any(c.isalpha() for c in rid):
            return rid


def _insert(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    try:
        conn.execute(SCHEMA)
        conn.executemany(
            "INSERT INTO manifests (run_id, timestamp, git_hash, git_diff, command, python_version, pip_freeze, "
            "device_info, dataset_id, params_json, final_metrics_json, artifacts_json, wandb_url, note) "
            "VALUES (:run_id, :timestamp, :git_hash, NULL, :command, NULL, NULL, NULL, :dataset_id, :params_json, "
            ":final_metrics_json, :artifacts_json, NULL, :note)", rows)
        conn.commit()
    finally:
        conn.close()


def build_documented_db(path: Path, seed: int = 7) -> Path:
    """36 image-classification runs written to the documented schema by plain sqlite3."""
    rng = random.Random(seed)
    datasets = ("mnist", "fashion_mnist", "cifar10")
    models = ("cnn", "resnet18", "svm", "logreg", "mlp")
    base = {"cnn": 0.9, "resnet18": 0.93, "svm": 0.85, "logreg": 0.8, "mlp": 0.87}
    rows = []
    batch_sizes = iter(rng.sample(range(16, 1000), 60))
    for i in range(36):
        model, dataset = models[i % 5], datasets[i % 3]
        val = round(min(0.999, base[model] + rng.uniform(-0.08, 0.06) - (0.05 if dataset == "cifar10" else 0)), 4)
        when = SUITE_NOW - timedelta(days=70 - 2 * i, hours=rng.randint(0, 10))
        zone = timezone(timedelta(hours=2)) if i % 4 == 0 else timezone.utc
        params = {"model_name": model, "learning_rate": rng.choice([1e-4, 3e-4, 1e-3, 3e-3]),
                  "batch_size": next(batch_sizes), "dropout": rng.choice([0.0, 0.1, 0.3]),
                  "n_epochs": rng.choice([20, 50, 120]), "optimizer": rng.choice(["adam", "sgd"]), "seed": i}
        metrics = {"val_acc": val, "test_acc": round(val - rng.uniform(0, 0.03), 4),
                   "train_loss": round(rng.uniform(0.02, 0.9), 4), "eval_f1": round(val - 0.02, 4)}
        rid = _run_id(rng)
        rows.append({"run_id": rid, "timestamp": when.astimezone(zone).isoformat(),
                     "git_hash": None if i % 3 == 0 else f"{rng.getrandbits(40):010x}",
                     "command": f"python train.py --model {model} --dataset {dataset}",
                     "dataset_id": dataset, "params_json": json.dumps(params),
                     "final_metrics_json": json.dumps(metrics),
                     "artifacts_json": json.dumps([f"runs/{rid}/metrics.csv", f"runs/{rid}/model.pt"]),
                     "note": None})
    notes = {4: "PUBLISH", 17: "PUBLISH; camera ready", 9: "diverged after epoch 4", 22: "loss went NaN, diverged",
             30: "rerun with a bigger batch"}
    for i, note in notes.items():
        rows[i]["note"] = note
    _insert(path, rows)
    return path


def build_foreign_db(path: Path, seed: int = 3) -> Path:
    """40 tabular-regression runs with names the parser was not designed for."""
    rng = random.Random(seed)
    datasets = ("naval_propulsion", "slice_localization", "protein_structure", "parkinsons_telemonitoring")
    archs = ("mlp", "random_forest", "gradient_boosting", "mlp")
    rows = []
    for i in range(40):
        dataset, arch = datasets[i % 4], archs[(i // 4) % 4]
        init_lr = rng.choice([0.0005, 0.001, 0.005, 0.01, 0.05])
        units = rng.choice([16, 32, 64, 128, 256])
        difficulty = {"naval_propulsion": 0.02, "slice_localization": 0.15, "protein_structure": 0.4,
                      "parkinsons_telemonitoring": 0.25}[dataset]
        val_loss = round(difficulty * (1 + rng.uniform(0, 0.6)) + abs(init_lr - 0.005) * 3, 5)
        params = {"arch": arch, "init_lr": init_lr, "n_units_1": units, "n_units_2": rng.choice([16, 32, 64]),
                  "lr_schedule": rng.choice(["cosine", "const"]), "batch_size": rng.choice([32, 64, 128]),
                  "n_epochs": rng.choice([50, 100, 200])}
        metrics = {"val_loss": val_loss, "test_loss": round(val_loss * rng.uniform(1.0, 1.15), 5),
                   "val_acc": round(100 * (1 - val_loss / 2) - rng.uniform(0, 3), 2),
                   "train_time": round(rng.uniform(30, 900), 1)}
        when = SUITE_NOW - timedelta(days=45 - i, hours=rng.randint(0, 20))
        rid = _run_id(rng)
        rows.append({"run_id": rid, "timestamp": when.isoformat(), "git_hash": None,
                     "command": None, "dataset_id": dataset, "params_json": json.dumps(params),
                     "final_metrics_json": json.dumps(metrics),
                     "artifacts_json": json.dumps([f"out/{rid}/history.csv"]) if i % 5 else None,
                     "note": None})
    rows[6]["note"] = "PUBLISH"
    rows[13]["note"] = "unstable: loss exploded at epoch 40"
    rows[27]["note"] = "baseline for the paper draft"
    _insert(path, rows)
    return path
