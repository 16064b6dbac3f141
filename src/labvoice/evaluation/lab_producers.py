"""Producers of the lab suite's run sources, run in a child process by lab_dbs (their global state - MLflow's
active run, W&B's settings, sklearn's threads - stays out of the caller):

    python -m labvoice.evaluation.lab_producers NAME FOLDER

NAME is one of lab_dbs.CONVENTIONS. Each producer writes its source into FOLDER the way the real tool
does and prints one JSON line: the runs it made, each with the producer's own id (`source_id`: the MLflow
run uuid, the W&B run id, the TensorBoard run folder, the table row). This module holds the two table
producers (scikit-learn's GridSearchCV and Keras history lines); the tracker producers are in
lab_trackers.py. Everything is seeded: the same call gives the same values (fit times aside).
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SKLEARN_SEED = 0
KERAS_SEED = 11


def sklearn_grid(folder: str) -> list[dict]:
    """GridSearchCV really fitted on three small generated datasets with three estimators; its
    `cv_results_` (own keys: mean_test_score, param_C, ...) written by pandas to one CSV, with the
    `dataset` and `model` columns a lab adds."""
    import pandas as pd
    from sklearn.datasets import make_circles, make_hastie_10_2, make_moons
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    datasets = {
        "make_moons": make_moons(n_samples=240, noise=0.35, random_state=SKLEARN_SEED),
        "make_circles": make_circles(n_samples=240, noise=0.25, factor=0.5, random_state=SKLEARN_SEED),
        "hastie_10_2": make_hastie_10_2(n_samples=300, random_state=SKLEARN_SEED),
    }
    grids = {
        "SVC": (SVC(), {"C": [0.1, 1.0, 10.0, 100.0]}),
        "DecisionTreeClassifier": (DecisionTreeClassifier(random_state=SKLEARN_SEED), {"max_depth": [2, 4, 8]}),
        "RandomForestClassifier": (RandomForestClassifier(random_state=SKLEARN_SEED, n_jobs=1),
                                   {"max_depth": [3, 6], "n_estimators": [10, 30]}),
    }
    frames = []
    for dataset, (x, y) in datasets.items():
        for model, (estimator, grid) in grids.items():
            search = GridSearchCV(estimator, grid, cv=StratifiedKFold(3, shuffle=True, random_state=SKLEARN_SEED),
                                  n_jobs=1)
            search.fit(x, y)
            frame = pd.DataFrame(search.cv_results_).drop(columns=["params"])
            frame = frame[[c for c in frame.columns if not c.startswith("split")]]
            frame.insert(0, "model", model)
            frame.insert(0, "dataset", dataset)
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    path = Path(folder) / "cv_results.csv"
    table.to_csv(path, index=False)
    return [{"source_id": f"row {i + 1}", "dataset": r["dataset"], "model": r["model"],
             "mean_test_score": float(r["mean_test_score"])} for i, r in table.iterrows()]


KERAS_MODELS = {"MobileNetV2": 0.0, "EfficientNetB0": 0.02, "DenseNet121": 0.01, "Xception": 0.025}
KERAS_DATASETS = {"cats_vs_dogs": 0.93, "tf_flowers": 0.86, "oxford_iiit_pet": 0.84}


def keras_history(folder: str) -> list[dict]:
    """24 transfer-learning runs as a training script leaves them: one JSON line per `model.fit`, its
    `history.history` (accuracy, val_accuracy, loss, val_loss per epoch), the last epoch's values at the
    top level, and the fit arguments (epochs, batch_size) beside the model and dataset."""
    rng = random.Random(KERAS_SEED)
    lines, made = [], []
    i = 0
    for dataset, base in KERAS_DATASETS.items():
        for model, gain in KERAS_MODELS.items():
            for epochs, lr in ((10, 1e-3), (20, 1e-4)):
                i += 1
                final = min(0.985, base + gain + (0.015 if epochs == 20 else 0.0) + rng.uniform(-0.03, 0.03))
                history = {"accuracy": [], "val_accuracy": [], "loss": [], "val_loss": []}
                for e in range(epochs):
                    frac = (e + 1) / epochs
                    val_acc = final - 0.25 * (1 - frac) ** 2 + rng.uniform(-0.004, 0.004)
                    history["val_accuracy"].append(round(val_acc, 4))
                    history["accuracy"].append(round(min(0.999, val_acc + 0.03 * frac), 4))
                    history["val_loss"].append(round(max(0.02, 1.1 * (1 - val_acc) + rng.uniform(0, 0.05)), 4))
                    history["loss"].append(round(max(0.01, (1 - val_acc) * 0.9), 4))
                line = {"run": f"keras-{i:02d}", "model": model, "dataset": dataset, "epochs": epochs,
                        "batch_size": (16, 32, 64)[i % 3], "optimizer": ("adam", "rmsprop")[i % 2],
                        "learning_rate": lr, **{k: v[-1] for k, v in history.items()}, "history": history}
                if i in (5, 17):
                    line["note"] = "EarlyStopping stopped it at epoch 7"
                lines.append(json.dumps(line))
                made.append({"source_id": line["run"], "dataset": dataset, "model": model,
                             "val_accuracy": line["val_accuracy"]})
    (Path(folder) / "history.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return made


def _producers() -> dict:
    from labvoice.evaluation import lab_trackers

    return {"sklearn": sklearn_grid, "keras": keras_history, "wandb": lab_trackers.wandb_finetunes,
            "mlflow": lab_trackers.mlflow_nested, "lightning": lab_trackers.lightning_tensorboard,
            "hf": lab_trackers.hf_trainer_mlflow}


if __name__ == "__main__":
    name, where = sys.argv[1], sys.argv[2]
    print(json.dumps(_producers()[name](where)))
