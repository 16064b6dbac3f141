"""Run DBs for the lab suite (issue 17), made by the real producers and read through our importers, in six
naming conventions a lab meets in the wild:

    sklearn    GridSearchCV(...).cv_results_ really fitted, written by pandas to CSV  -> csv importer
    wandb      W&B offline runs, `eval/loss`-style keys, a Trainer-like config        -> wandb importer
    mlflow     MLflow runs with nested params flattened (`optimizer.lr`, `model.depth`) -> mlflow importer
    keras      Keras history keys (`val_accuracy`, `epochs`) as JSON lines             -> jsonl importer
    lightning  Lightning-style scalars (`val/acc`, `val_loss_epoch`) via TensorBoard   -> tensorboard importer
    hf         Trainer-style `eval_*`, `train_runtime`, OOM notes, logged to MLflow    -> mlflow importer

The producers run in child processes (lab_producers.py), so their global state stays out of the caller.
Each `Convention` says what the ground truth needs to know about a DB (which parameter holds the model
name, which metrics are minimised); that is knowledge about the DB, never about the parser. The
truth helpers here are plain Python over `query_truth.read_truth_rows`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from labvoice.evaluation.query_truth import TruthRow, group_values, read_truth_rows
from labvoice.privacy import TELEMETRY_OFF

PRODUCER_TIMEOUT_S = 600


@dataclass(frozen=True)
class Convention:
    name: str
    importer: str                  # the labvoice importer kind
    source: str                    # what the producer leaves in its folder (a file, a folder, a URI)
    model_key: str                 # the parameter holding the model's name
    metric: str                    # the headline metric of the DB
    lower: frozenset[str]          # metrics where lower is better


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention("sklearn", "csv", "cv_results.csv", "model", "mean_test_score",
               frozenset({"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time", "rank_test_score"})),
    Convention("wandb", "wandb", "wandb", "model_name_or_path", "eval/accuracy",
               frozenset({"eval/loss", "train/loss", "eval/brier_score"})),
    Convention("mlflow", "mlflow", "sqlite:///mlflow.db", "model.name", "val_acc1",
               frozenset({"val_loss", "train_loss"})),
    Convention("keras", "jsonl", "history.jsonl", "model", "val_accuracy", frozenset({"loss", "val_loss"})),
    Convention("lightning", "tensorboard", "lightning_logs", "model_name", "val_acc",
               frozenset({"train_loss_step", "train_loss_epoch", "val_loss_epoch", "val_nll"})),
    Convention("hf", "mlflow", "sqlite:///mlflow.db", "model_name_or_path", "eval_accuracy",
               frozenset({"eval_loss", "train_loss", "train_runtime", "eval_ece", "eval_mse"})),
)}


@dataclass(frozen=True)
class LabQuestion:
    """One question of the lab suite. `operator` tags what it tests; `uses` are the DB names (dataset ids,
    model names, metric and parameter names) that the parsed query must contain, or the answer dropped a
    constraint."""

    id: str
    db: str
    operator: str
    style: str                     # plain | casual | terse | heldout
    question: str
    expect: dict[str, Any]
    uses: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    split: str = "suite"           # suite | heldout


# --- ground truth: plain Python over the DB ------------------------------------------------------------

def model_of(row: TruthRow, conv: Convention) -> str:
    value = row.params.get(conv.model_key)
    return value if isinstance(value, str) else ""


def number(row: TruthRow, name: str) -> float | None:
    value = row.params.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def pick(rows: Iterable[TruthRow], conv: Convention, dataset: str | Iterable[str] | None = None,
         model: str | Iterable[str] | None = None, test: Callable[[TruthRow], bool] | None = None) -> list[TruthRow]:
    """Rows on `dataset` (one or several) with `model` (one or several), passing `test`."""
    ds = {dataset} if isinstance(dataset, str) else (set(dataset) if dataset is not None else None)
    ms = {model} if isinstance(model, str) else (set(model) if model is not None else None)
    return [r for r in rows if (ds is None or r.dataset in ds) and (ms is None or model_of(r, conv) in ms)
            and (test is None or test(r))]


def ranked(rows: Iterable[TruthRow], metric: str, conv: Convention, best: bool = True) -> list[TruthRow]:
    """Rows having `metric`, best first (or worst first), by the metric's direction in `conv`."""
    have = [r for r in rows if metric in r.metrics]
    descending = (metric not in conv.lower) == best
    return sorted(have, key=lambda r: -r.metrics[metric] if descending else r.metrics[metric])


def top(rows: Iterable[TruthRow], metric: str, conv: Convention, k: int = 1, skip: int = 0,
        best: bool = True) -> dict[str, Any]:
    """The "top" expectation: the metric's values of the k runs after the first `skip`."""
    chosen = ranked(rows, metric, conv, best)[skip:skip + k]
    return {"kind": "top", "field": metric, "values": [r.metrics[metric] for r in chosen]}


def best_rows(rows: Iterable[TruthRow], metric: str, conv: Convention) -> list[TruthRow]:
    """Every run tied for the best value of `metric` (one run when there is no tie)."""
    order = ranked(rows, metric, conv)
    return [r for r in order if order and r.metrics[metric] == order[0].metrics[metric]]


def per_group(rows: Iterable[TruthRow], metric: str, conv: Convention,
              key: Callable[[TruthRow], str]) -> dict[str, Any]:
    """The "per_group" expectation: the best value of `metric` in each group (groups without it left out)."""
    groups: dict[str, float] = {}
    for r in ranked(rows, metric, conv):
        label = key(r)
        if label:
            groups.setdefault(label, r.metrics[metric])
    return {"kind": "per_group", "field": metric, "groups": groups}


def means(rows: Iterable[TruthRow], metric: str, key: Callable[[TruthRow], Any]) -> dict[Any, float]:
    """The mean of `metric` per `key` label (rows without either left out)."""
    return group_values(list(rows), key, metric, "mean")


def ids(rows: Iterable[TruthRow]) -> dict[str, Any]:
    return {"kind": "ids", "ids": [r.run_id for r in rows]}


# --- building the DBs ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabDb:
    name: str
    path: Path
    made: tuple[dict, ...]         # what the producer said it made (its own run ids among them)


def _produce(name: str, folder: Path) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **TELEMETRY_OFF, "WANDB_DIR": str(folder), "PYTHONHASHSEED": "0",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "labvoice.evaluation.lab_producers", name, str(folder)],
                          capture_output=True, text=True, timeout=PRODUCER_TIMEOUT_S, env=env, cwd=folder)
    if done.returncode != 0:
        raise RuntimeError(f"the {name} producer failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _source(conv: Convention, folder: Path) -> str:
    if conv.source.startswith("sqlite:///"):
        return f"sqlite:///{(folder / conv.source[len('sqlite:///'):]).resolve()}"
    return str(folder / conv.source)


def build_lab_db(name: str, folder: Path) -> LabDb:
    """Run the `name` producer in a child process in `folder`/source and import what it left into
    `folder`/`name`.db with labvoice's importer for that kind of source."""
    from labvoice.knowledge.importers import import_runs

    conv = CONVENTIONS[name]
    source_folder = Path(folder) / f"{name}-source"
    made = _produce(name, source_folder)
    db = Path(folder) / f"{name}.db"
    if db.exists():
        db.unlink()
    report = import_runs(conv.importer, _source(conv, source_folder), db, Path(folder) / f"{name}-artifacts")
    if report.skipped or report.runs != len(made):
        raise RuntimeError(f"{name}: imported {report.runs} of {len(made)} runs; skipped {report.skipped}")
    return LabDb(name, db, tuple(made))


def build_lab_dbs(folder: Path, names: Iterable[str] = tuple(CONVENTIONS), workers: int = 3) -> dict[str, LabDb]:
    """All six DBs (or `names`), producers run side by side (each in its own child process)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    names = list(names)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        built = list(pool.map(lambda n: build_lab_db(n, Path(folder)), names))
    return {db.name: db for db in built}
