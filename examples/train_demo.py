"""Train real scikit-learn models on sklearn's bundled datasets and record every run with `log_run`.

    python examples/train_demo.py --db data/runs.db [--artifacts DIR] [--quick]

Five model kinds (logistic_regression, linear_svm, perceptron, random_forest, mlp) on digits, iris,
wine and breast_cancer, several seeds and hyper-parameters (~60 runs, ~23 with --quick). Each run
trains epoch by epoch (SGD/MLP `partial_fit`; a warm-started forest that grows per epoch), writes
`<artifacts>/<run_id>/metrics.csv` (epoch,train_loss,val_loss,val_accuracy) and returns its final
metrics. A few settings are deliberately unstable (a step size that grows every update, an MLP
with learning_rate_init=1.0 and no weight decay); afterwards their runs get the note "diverged: val_loss rose from X to Y",
and the best non-diverged val_accuracy run per dataset gets the note "PUBLISH".
Results depend only on the seeds: the same command gives the same metrics.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, hinge_loss, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from labvoice.config import ConfigError, load_config
from labvoice.hardware import apply_thread_budget
from labvoice.knowledge.log_run import LoggedRun, log_run
from labvoice.knowledge.notes import PUBLISH
from labvoice.knowledge.store import ManifestStore, StoreError

DATASETS: dict[str, Callable] = {"digits": datasets.load_digits, "iris": datasets.load_iris,
                                 "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer}
SGD_LOSS = {"logistic_regression": "log_loss", "linear_svm": "hinge", "perceptron": "perceptron"}
VAL_FRACTION = 0.25
SPLIT_SEED = 0              # one fixed train/val split per dataset, so runs are comparable
DIVERGENCE_RATIO = 3.0      # final val_loss above this multiple of the best earlier epoch's ...
DIVERGENCE_MIN_RISE = 0.25  # ... and at least this much above it (absolute) counts as diverged
METRICS_CSV = "metrics.csv"
CSV_FIELDS = ("epoch", "train_loss", "val_loss", "val_accuracy")
EPOCHS = {"sgd": 20, "mlp": 30, "forest": 5}
QUICK_EPOCHS = {"sgd": 10, "mlp": 12, "forest": 3}


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    x_val: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    classes: np.ndarray


@dataclass(frozen=True)
class DemoReport:
    runs: tuple[LoggedRun, ...]
    diverged: dict[str, str]        # run_id -> note
    published: dict[str, str]       # dataset -> run_id
    seconds: float


def load_split(name: str) -> Split:
    x, y = DATASETS[name](return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=VAL_FRACTION, random_state=SPLIT_SEED, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    return Split(scaler.transform(x_tr), scaler.transform(x_va), y_tr, y_va, np.unique(y))


def demo_grid(quick: bool) -> list[dict[str, Any]]:
    """The hyper-parameter settings to train, in a fixed order."""
    ep = QUICK_EPOCHS if quick else EPOCHS
    seeds = (0,) if quick else (0, 1)
    grid: list[dict[str, Any]] = []
    for dataset in DATASETS:
        def add(model: str, seed_list: tuple[int, ...], **params: Any) -> None:
            grid.extend({"dataset": dataset, "model": model, "seed": s, **params} for s in seed_list)

        sgd = {"epochs": ep["sgd"], "penalty": "l2", "lr_schedule": "constant", "power_t": 0.5}
        add("logistic_regression", seeds, learning_rate=0.01, alpha=1e-4, **sgd)
        add("linear_svm", seeds, learning_rate=0.01, alpha=1e-4, **sgd)
        add("perceptron", seeds, learning_rate=0.1, alpha=0.0, **{**sgd, "penalty": "none"})
        add("random_forest", seeds, learning_rate=None, epochs=ep["forest"], n_estimators=60, max_depth=None)
        add("mlp", seeds, learning_rate=0.01, epochs=ep["mlp"], hidden_units=32, alpha=1e-4, solver="adam")
        if not quick:
            add("logistic_regression", (0,), learning_rate=0.1, alpha=1e-3, **sgd)
            add("linear_svm", (0,), learning_rate=0.01, alpha=1e-2, **sgd)
            add("random_forest", (0,), learning_rate=None, epochs=ep["forest"], n_estimators=60, max_depth=3)
            add("mlp", (0,), learning_rate=0.001, epochs=ep["mlp"], hidden_units=64, alpha=1e-4, solver="adam")
    # Deliberately unstable: a step size that grows with every update (power_t < 0), no penalty ...
    growing = {"epochs": ep["sgd"], "alpha": 0.0, "penalty": "none", "lr_schedule": "invscaling",
               "power_t": -1.0, "learning_rate": 0.01, "seed": 0}
    grid.append({"dataset": "digits", "model": "perceptron", **growing})
    grid.append({"dataset": "breast_cancer", "model": "linear_svm", **growing})
    # ... and an MLP with momentum SGD at learning_rate_init=1.0 and no weight decay.
    grid.append({"dataset": "breast_cancer", "model": "mlp", "learning_rate": 1.0, "epochs": ep["mlp"],
                 "hidden_units": 32, "alpha": 0.0, "solver": "sgd", "seed": 0})
    return grid


def make_model(p: dict[str, Any]) -> Any:
    if p["model"] in SGD_LOSS:
        return SGDClassifier(loss=SGD_LOSS[p["model"]], penalty=None if p["penalty"] == "none" else p["penalty"],
                             alpha=p["alpha"], learning_rate=p["lr_schedule"], eta0=p["learning_rate"],
                             power_t=p["power_t"], random_state=p["seed"])
    if p["model"] == "random_forest":
        return RandomForestClassifier(n_estimators=0, max_depth=p["max_depth"], warm_start=True,
                                      random_state=p["seed"], n_jobs=1)
    if p["model"] == "mlp":
        return MLPClassifier(hidden_layer_sizes=(p["hidden_units"],), solver=p["solver"], alpha=p["alpha"],
                             learning_rate_init=p["learning_rate"], random_state=p["seed"])
    raise ValueError(f"unknown model kind {p['model']!r}")


def train_epoch(model: Any, p: dict[str, Any], split: Split, epoch: int, rng: np.random.Generator) -> None:
    if p["model"] == "random_forest":
        model.n_estimators = math.ceil(p["n_estimators"] * epoch / p["epochs"])
        model.fit(split.x_train, split.y_train)
        return
    order = rng.permutation(len(split.y_train))
    model.partial_fit(split.x_train[order], split.y_train[order], classes=split.classes)


def loss(model: Any, x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> float:
    """log_loss where the model gives probabilities, hinge loss otherwise; inf if they are not finite."""
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(x)
        return float(log_loss(y, proba, labels=classes)) if np.isfinite(proba).all() else math.inf
    scores = model.decision_function(x)
    return float(hinge_loss(y, scores, labels=classes)) if np.isfinite(scores).all() else math.inf


def make_trainer(db: Path, artifacts: Path, splits: dict[str, Split]) -> Callable[..., LoggedRun]:
    @log_run(db=db)
    def train(*, dataset: str, model: str, seed: int, epochs: int, learning_rate: float | None,
              run_id: str, **extra: Any) -> dict[str, Any]:
        p = {"dataset": dataset, "model": model, "seed": seed, "epochs": epochs,
             "learning_rate": learning_rate, **extra}
        split = splits[dataset]
        clf = make_model(p)
        rng = np.random.default_rng(seed)
        out_dir = artifacts / run_id
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / METRICS_CSV
        with warnings.catch_warnings(), open(csv_path, "w", newline="", encoding="utf-8") as fh:
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            writer = csv.writer(fh)
            writer.writerow(CSV_FIELDS)
            for epoch in range(1, epochs + 1):
                train_epoch(clf, p, split, epoch, rng)
                val_acc = accuracy_score(split.y_val, clf.predict(split.x_val))
                writer.writerow((epoch, loss(clf, split.x_train, split.y_train, split.classes),
                                 loss(clf, split.x_val, split.y_val, split.classes), val_acc))
            predicted = clf.predict(split.x_val)
            metrics = {
                "val_accuracy": accuracy_score(split.y_val, predicted),
                "val_f1": f1_score(split.y_val, predicted, average="macro"),
                "train_accuracy": accuracy_score(split.y_train, clf.predict(split.x_train)),
                "train_loss": loss(clf, split.x_train, split.y_train, split.classes),
                "val_loss": loss(clf, split.x_val, split.y_val, split.classes),
            }
        return {"metrics": metrics, "artifacts": [str(csv_path)]}

    return train


def divergence_note(csv_path: Path) -> str | None:
    """'diverged: val_loss rose from X to Y' when the last epoch's val_loss blew up, else None."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        losses = [float(row["val_loss"]) for row in csv.DictReader(fh)]
    if len(losses) < 2:
        return None
    best, final = min(losses[:-1]), losses[-1]
    if final > best * DIVERGENCE_RATIO and final - best > DIVERGENCE_MIN_RISE:
        return f"diverged: val_loss rose from {best:.4g} to {final:.4g}"
    return None


def run_demo(db: Path, artifacts: Path, quick: bool = False, progress: bool = True) -> DemoReport:
    """Train the demo grid into `db`, then note diverged runs and flag the best run per dataset."""
    started = time.perf_counter()
    splits = {name: load_split(name) for name in DATASETS}
    train = make_trainer(db, artifacts, splits)
    runs = []
    for params in tqdm(demo_grid(quick), desc="training", unit="run", disable=not progress):
        runs.append(train(**params))
    store = ManifestStore(db)
    diverged = {}
    for run in runs:
        note = divergence_note(Path(run.artifacts[0]))      # the run's metrics.csv
        if note:
            store.set_note(run.run_id, note)
            diverged[run.run_id] = note
    published = {}
    for dataset in DATASETS:
        candidates = [r for r in runs if r.dataset_id == dataset and r.run_id not in diverged]
        best = max(candidates, key=lambda r: (r.metrics["val_accuracy"], r.metrics["val_f1"],
                                              -(r.metrics["val_loss"] or math.inf)))
        store.flag_for_publishing(best.run_id)
        published[dataset] = best.run_id
    return DemoReport(tuple(runs), diverged, published, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="manifests DB to log runs into (default: config paths.db)")
    parser.add_argument("--artifacts", type=Path, help="artifacts folder (default: config paths.artifacts)")
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--quick", action="store_true", help="one seed, fewer settings and epochs (~23 runs)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    apply_thread_budget(config.threads)
    db, artifacts = args.db or config.paths.db, args.artifacts or config.paths.artifacts
    try:
        report = run_demo(db, artifacts, quick=args.quick)
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"logged {len(report.runs)} runs to {db} (artifacts in {artifacts}); {len(report.diverged)} "
          f"diverged, best per dataset flagged {PUBLISH}: "
          + ", ".join(f"{d} {r}" for d, r in report.published.items()) + f"; {report.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
