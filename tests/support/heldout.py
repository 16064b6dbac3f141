"""A manifests DB unlike the demo one (other datasets, metric and parameter names, model key),
logged through the real `log_run`, with questions and ground truth computed independently of
labvoice's fact finder: plain Python over the rows."""
from __future__ import annotations

import random
from pathlib import Path

from labvoice.knowledge.log_run import log_run
from labvoice.knowledge.store import ManifestStore

DATASETS = ("mnist", "fashion_mnist", "cifar10_small")
MODELS = ("cnn", "resnet18", "svm", "logreg", "mlp")


def build_heldout_db(path: Path, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)

    @log_run(db=path)
    def train(*, dataset: str, model_type: str, lr: float, batch_size: int, dropout: float, seed: int):
        base = {"cnn": 0.9, "resnet18": 0.93, "svm": 0.85, "logreg": 0.8, "mlp": 0.87}[model_type]
        val = round(min(0.999, base + rng.uniform(-0.08, 0.06)), 4)
        return {"metrics": {"val_acc": val, "test_acc": round(val - rng.uniform(0, 0.03), 4),
                            "train_loss": round(rng.uniform(0.02, 0.9), 4), "eval_f1": round(val - 0.02, 4)}}

    rows = []
    batch_sizes = iter(rng.sample(range(16, 1000), 60))
    for i in range(36):
        kwargs = dict(dataset=DATASETS[i % 3], model_type=MODELS[i % 5], lr=rng.choice([1e-4, 3e-4, 1e-3, 3e-3]),
                      batch_size=next(batch_sizes), dropout=rng.choice([0.0, 0.1, 0.3]), seed=i)
        logged = train(**kwargs)
        rows.append({"run_id": logged.run_id, **kwargs, **logged.metrics, "note": ""})
    store = ManifestStore(path)
    for row, note in ((rows[4], "PUBLISH"), (rows[17], "PUBLISH - camera ready"),
                      (rows[9], "diverged after epoch 4"), (rows[22], "loss went NaN, diverged")):
        store.set_note(row["run_id"], note)
        row["note"] = note
    return rows


def heldout_questions(rows: list[dict]) -> list[tuple[str, list[str], bool]]:
    """(question, expected run ids, whether order matters)."""
    def best(items, key, reverse=True):
        return sorted(items, key=lambda r: r[key], reverse=reverse)

    mnist = [r for r in rows if r["dataset"] == "mnist"]
    cifar = [r for r in rows if r["dataset"] == "cifar10_small"]
    resnets = [r for r in rows if r["model_type"] == "resnet18"]
    latest = rows[-1]
    return [
        ("Which run had the best validation accuracy on mnist?", [best(mnist, "val_acc")[0]["run_id"]], True),
        ("What are the top three runs by test accuracy?", [r["run_id"] for r in best(rows, "test_acc")[:3]], True),
        ("Compare the best CNN with the best SVM on cifar10 small.",
         [best([r for r in cifar if r["model_type"] == m], "val_acc")[0]["run_id"] for m in ("cnn", "svm")], False),
        ("Which runs are flagged for publishing?", [r["run_id"] for r in rows if "PUBLISH" in r["note"]], False),
        ("What learning rate did the best resnet use?", [best(resnets, "val_acc")[0]["run_id"]], True),
        ("Which run has the lowest training loss?", [best(rows, "train_loss", reverse=False)[0]["run_id"]], True),
        ("Which runs have validation accuracy above 0.95?", [r["run_id"] for r in rows if r["val_acc"] > 0.95], False),
        ("What is the most recent run?", [latest["run_id"]], True),
        ("Which run used the largest batch size?", [best(rows, "batch_size")[0]["run_id"]], True),
        ("Which runs diverged?", [r["run_id"] for r in rows if "diverged" in r["note"]], False),
        ("How many runs used an MLP?", [r["run_id"] for r in rows if r["model_type"] == "mlp"], False),
        ("Hi there, how are you today?", [], False),
    ]
