"""Import throughput per importer (runs/s), on input made by each tracker's own client.

    python scripts/bench_import.py [--json] [--repeats 3] [--mlflow-runs 1000] [--table-rows 100000]
                                   [--tensorboard-runs 200] [--wandb-runs 100] [--only csv,jsonl,...]

Each source is made once in a temporary folder (MLflow file store through the mlflow client, W&B
offline runs through wandb, TensorBoard events through PyTorch's SummaryWriter, CSV/JSONL tables),
then imported `--repeats` times into a fresh DB each time; the figure is the median. The time to
make the input is not counted. MLflow runs carry a 10-step history of two metrics (so the import
reads each history and writes a curves CSV per run).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from labvoice.knowledge.importers import import_runs  # noqa: E402

DATASETS = ("naval_propulsion", "slice_localization", "protein_structure", "parkinsons_telemonitoring")
MODELS = ("mlp", "xgboost", "resnet")
STEPS = 10


def _spec(i: int) -> dict:
    return {"dataset": DATASETS[i % len(DATASETS)], "model": MODELS[i % len(MODELS)],
            "init_lr": 10 ** -(1 + i % 4), "batch_size": 2 ** (4 + i % 4), "dropout": round(0.1 * (i % 5), 1),
            "lr_schedule": ("cosine", "constant")[i % 2], "val_loss": round(0.1 + (i * 7919 % 1000) / 2000, 4),
            "train_time": round(30 + (i * 104729 % 5000) / 10, 1)}


def make_table(folder: Path, rows: int, kind: str) -> Path:
    path = folder / f"runs.{kind}"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if kind == "csv":
            writer = csv.DictWriter(fh, fieldnames=["run_id", *_spec(0)])
            writer.writeheader()
            for i in range(rows):
                writer.writerow({"run_id": f"trial-{i}", **_spec(i)})
        else:
            for i in range(rows):
                spec = _spec(i)
                fh.write(json.dumps({"run_id": f"trial-{i}", "dataset": spec.pop("dataset"),
                                     "metrics": {"val_loss": spec.pop("val_loss"), "train_time": spec.pop("train_time")},
                                     "params": spec}) + "\n")
    return path


def make_mlflow(folder: Path, runs: int) -> str:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    import mlflow
    from mlflow.entities import Metric, Param

    uri = (folder / "mlruns").resolve().as_uri()
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench")
    for i in range(runs):
        spec = _spec(i)
        run = client.create_run(experiment, run_name=f"trial-{i}")
        stamp = int(time.time() * 1000)
        metrics = [Metric(name, spec[name] * (1 + (STEPS - 1 - s) / STEPS), stamp, s)
                   for name in ("val_loss", "train_time") for s in range(STEPS)]
        params = [Param(k, str(v)) for k, v in spec.items() if k not in ("val_loss", "train_time")]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
    return uri


def make_tensorboard(folder: Path, runs: int) -> Path:
    from tensorboardX import SummaryWriter   # torch-free; the writer Lightning falls back to

    root = folder / "tb"
    for i in range(runs):
        spec = _spec(i)
        writer = SummaryWriter(str(root / f"trial-{i}"))
        for s in range(STEPS):
            writer.add_scalar("val/loss", spec["val_loss"] * (1 + (STEPS - 1 - s) / STEPS), s)
        writer.add_hparams({k: v for k, v in spec.items() if k not in ("val_loss", "train_time")},
                           {"hparam/train_time": spec["train_time"]}, run_name=".")
        writer.close()
    return root


def make_wandb(folder: Path, runs: int) -> Path:
    os.environ.update({"WANDB_MODE": "offline", "WANDB_DIR": str(folder), "WANDB_SILENT": "true"})
    import wandb

    for i in range(runs):
        spec = _spec(i)
        run = wandb.init(project="bench", name=f"trial-{i}",
                         config={k: v for k, v in spec.items() if k not in ("val_loss", "train_time")})
        for s in range(STEPS):
            run.log({"val_loss": spec["val_loss"] * (1 + (STEPS - 1 - s) / STEPS)})
        run.summary["train_time"] = spec["train_time"]
        run.finish()
    return folder


def measure(kind: str, source: str, folder: Path, repeats: int) -> dict:
    times, runs = [], 0
    for r in range(repeats):
        db = folder / f"bench-{kind}-{r}.db"
        report = import_runs(kind, source, db, folder / f"artifacts-{kind}-{r}")
        times.append(report.seconds)
        runs = report.runs
        assert not report.skipped, report.skipped[:3]
    median = statistics.median(times)
    return {"runs": runs, "repeats": repeats, "seconds_median": round(median, 3),
            "seconds": [round(t, 3) for t in times], "runs_per_s": round(runs / median, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mlflow-runs", type=int, default=1000)
    parser.add_argument("--table-rows", type=int, default=100_000)
    parser.add_argument("--tensorboard-runs", type=int, default=200)
    parser.add_argument("--wandb-runs", type=int, default=100)
    parser.add_argument("--only", help="comma-separated subset of csv,jsonl,mlflow,tensorboard,wandb")
    args = parser.parse_args(argv)
    kinds = args.only.split(",") if args.only else ["csv", "jsonl", "mlflow", "tensorboard", "wandb"]
    results = {}
    with tempfile.TemporaryDirectory(prefix="labvoice-bench-import-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            started = time.perf_counter()
            if kind in ("csv", "jsonl"):
                source = str(make_table(folder, args.table_rows, kind))
            elif kind == "mlflow":
                source = make_mlflow(folder, args.mlflow_runs)
            elif kind == "tensorboard":
                source = str(make_tensorboard(folder, args.tensorboard_runs))
            else:
                source = str(make_wandb(folder / "wandb-runs", args.wandb_runs))
            made_s = time.perf_counter() - started
            results[kind] = {**measure(kind, source, folder, args.repeats), "input_made_s": round(made_s, 1)}
            if not args.json:
                r = results[kind]
                print(f"{kind:12s} {r['runs']:7d} runs  median {r['seconds_median']:8.2f} s  {r['runs_per_s']:9.1f} runs/s",
                      flush=True)
    if args.json:
        print(json.dumps({"import": results, "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
