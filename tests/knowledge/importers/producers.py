"""Real input for the importer tests, made by the trackers' own clients in a child process (their global
state - MLflow's active run, W&B's settings - stays out of the test process):

    python -m tests.knowledge.importers.producers mlflow TRACKING_URI N
    python -m tests.knowledge.importers.producers wandb FOLDER N
    python -m tests.knowledge.importers.producers tensorboard FOLDER N

Each prints one JSON line describing the runs it made: the tracker's own run id, the dataset, the
final val_accuracy and the learning rate. The runs are a small sweep: val_accuracy climbs per epoch
towards a final value that depends on the learning rate and the dataset.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DATASETS = ("digits", "iris")
LEARNING_RATES = (0.3, 0.1, 0.03, 0.01, 0.003)
EPOCHS = 4


def sweep(n: int) -> list[dict]:
    runs = []
    for i in range(n):
        lr = LEARNING_RATES[i % len(LEARNING_RATES)]
        dataset = DATASETS[i % len(DATASETS)]
        final = round(0.70 + 0.05 * (i % 5) + (0.01 if dataset == "digits" else 0.0) + 0.001 * i, 4)
        curve = [round(final - 0.1 * (EPOCHS - 1 - e), 4) for e in range(EPOCHS)]
        runs.append({"index": i, "lr": lr, "dataset": dataset, "model": ("mlp", "cnn")[i % 2],
                     "val_accuracy": final, "curve": curve, "val_loss": round(1.0 - final, 4)})
    return runs


def mlflow_runs(uri: str, n: int) -> list[dict]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///") and mlflow.get_experiment_by_name("sweep") is None:
        # A sqlite store's default artifact root is ./mlruns of the working directory: keep it in the test's folder.
        folder = Path(uri[len("sqlite:///"):]).parent / "mlflow-artifacts"
        mlflow.create_experiment("sweep", artifact_location=folder.as_uri())
    mlflow.set_experiment("sweep")
    made = []
    for spec in sweep(n):
        with mlflow.start_run(run_name=f"{spec['model']}-{spec['index']}") as run:
            mlflow.log_params({"learning_rate": spec["lr"], "model": spec["model"], "dataset": spec["dataset"],
                               "optimizer": "adam"})
            mlflow.set_tag("team", "vision")
            for epoch, value in enumerate(spec["curve"]):
                mlflow.log_metric("val_accuracy", value, step=epoch)
            mlflow.log_metric("val_loss", spec["val_loss"])
            mlflow.log_text(f"run {spec['index']}", "summary.txt")
        made.append({**spec, "source_id": run.info.run_id})
    return made


def wandb_runs(folder: str, n: int) -> list[dict]:
    os.environ.update({"WANDB_MODE": "offline", "WANDB_DIR": folder, "WANDB_SILENT": "true"})
    import wandb

    made = []
    for spec in sweep(n):
        run = wandb.init(project="sweep", name=f"{spec['model']}-{spec['index']}", notes="from the sweep",
                         config={"learning_rate": spec["lr"], "model": spec["model"], "dataset": spec["dataset"],
                                 "optimizer": {"name": "adam", "beta1": 0.9}})
        for epoch, value in enumerate(spec["curve"]):
            run.log({"val_accuracy": value, "epoch": epoch})
        run.summary["val_loss"] = spec["val_loss"]
        run.finish()
        made.append({**spec, "source_id": run.id})
    return made


def tensorboard_runs(folder: str, n: int) -> list[dict]:
    from tensorboardX import SummaryWriter   # torch-free; the writer Lightning falls back to

    made = []
    for spec in sweep(n):
        name = f"{spec['model']}-{spec['index']}"
        writer = SummaryWriter(str(Path(folder) / name))
        for epoch, value in enumerate(spec["curve"]):
            writer.add_scalar("val/accuracy", value, epoch)
        writer.add_hparams({"learning_rate": spec["lr"], "model": spec["model"], "dataset": spec["dataset"]},
                           {"hparam/val_loss": spec["val_loss"]})
        writer.close()
        made.append({**spec, "source_id": name})
    return made


PRODUCERS = {"mlflow": mlflow_runs, "wandb": wandb_runs, "tensorboard": tensorboard_runs}

if __name__ == "__main__":
    kind, where, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(PRODUCERS[kind](where, count)))
