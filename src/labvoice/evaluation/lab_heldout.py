"""Held-out questions of the lab suite (issue 17): 34 typed questions over the six lab DBs, phrased the way
a user would type them, written and committed before the parser work and never edited after. They
estimate how the parser does on wordings nobody tuned it for; nothing in the parser may copy them.

Ground truth is plain Python over each DB (lab_dbs' truth helpers over query_truth.read_truth_rows).
Expectation kinds beyond query_score.check's (scored by lab_score): `per_group` (best value per group),
`ask_back` (a question back offering the named options), `refuse` (no answer, no run ids), `value_in`
and `best_value_in` (any of tied answers), `any_of` (one of several acceptable expectations).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from labvoice.evaluation import lab_dbs as L

THREE_HOURS_S = 3 * 3600


def _one(rows, conv, metric, field: str) -> dict[str, Any]:
    """`field` of the best run by `metric`; any of the tied best runs' values is right."""
    tied = L.best_rows(rows, metric, conv)
    return {"kind": "value_in", "field": field, "values": sorted({r.params.get(field.split(":", 1)[1]) for r in tied})}


def _best_mean(rows, metric, param: str, conv) -> dict[str, Any]:
    avg = L.means(rows, metric, lambda r: L.number(r, param))
    if not avg:
        return {"kind": "best_value_in", "values": []}
    pick = min if metric in conv.lower else max
    best = pick(avg.values())
    return {"kind": "best_value_in", "values": sorted(k for k, v in avg.items() if v == best)}


def heldout(name: str, db: Path) -> list[L.LabQuestion]:
    rows = L.read_truth_rows(db)
    conv = L.CONVENTIONS[name]
    out: list[L.LabQuestion] = []

    def add(operator: str, question: str, expect: dict, uses: tuple[str, ...] = ()) -> None:
        out.append(L.LabQuestion(f"{name}-heldout-{len(out) + 1}", name, operator, "heldout", question, expect,
                                 uses, split="heldout"))

    model = lambda r: L.model_of(r, conv)  # noqa: E731

    if name == "hf":
        add("speed", "Which run finished training the fastest?", L.top(rows, "train_runtime", conv), ("train_runtime",))
        add("duration", "Did any fine-tune take longer than three hours? List them.",
            L.ids(r for r in rows if r.metrics.get("train_runtime", 0) > THREE_HOURS_S), ("train_runtime",))
        sst2 = L.pick(rows, conv, "glue/sst2")
        add("names", "What batch size did the top run on sst2 use?",
            _one(sst2, conv, "eval_accuracy", "param:per_device_train_batch_size"),
            ("glue/sst2", "per_device_train_batch_size"))
        add("subset_metric", "Which learning rate did the best STS-B run use?",
            _one(L.pick(rows, conv, "glue/stsb"), conv, "eval_pearson", "param:learning_rate"),
            ("glue/stsb", "learning_rate"))
        add("negation", "Best run on imdb that isn't a roberta model?",
            L.top(L.pick(rows, conv, "imdb", test=lambda r: not model(r).startswith("roberta")), "eval_accuracy", conv),
            ("imdb", "roberta-base", "roberta-large"))
        add("ordinal", "Who came second on mrpc?", L.top(L.pick(rows, conv, "glue/mrpc"), "eval_accuracy", conv, skip=1),
            ("glue/mrpc",))
        add("names", "Which runs crashed with out-of-memory errors?",
            L.ids(r for r in rows if "oom" in r.note.lower()))
        add("direction", "Which run is best calibrated?", L.top(rows, "eval_ece", conv), ("eval_ece",))
        add("per_group", "What's the top accuracy on each dataset?",
            L.per_group(rows, "eval_accuracy", conv, lambda r: r.dataset), ("eval_accuracy",))
        add("compare", "How does the best distilbert run compare with the best bert-base one on sst2?",
            {"kind": "top", "field": "eval_accuracy",
             "values": [L.ranked(L.pick(sst2, conv, model=m), "eval_accuracy", conv)[0].metrics["eval_accuracy"]
                        for m in ("distilbert-base-uncased", "bert-base-uncased")]},
            ("distilbert-base-uncased", "bert-base-uncased", "glue/sst2"))
        add("number", "Show the runs with a learning rate of 0.00003 on imdb",
            L.ids(L.pick(rows, conv, "imdb", test=lambda r: L.number(r, "learning_rate") == 3e-5)),
            ("learning_rate", "imdb"))
        add("unbound", "Which of the A100 runs did best?", {"kind": "refuse"})
        fam = L.pick(sst2, conv, model=("roberta-base", "roberta-large"))
        add("ask_back", "What's the best roberta run on sst2?",
            {"kind": "any_of", "options": [{"kind": "ask_back", "options": ["roberta-base", "roberta-large"]},
                                           L.top(fam, "eval_accuracy", conv)]}, ("glue/sst2",))
        add("mean_per_group", "average eval loss for each model on sst2",
            {"kind": "groups", "agg": "mean", "groups": L.means(sst2, "eval_loss", model)}, ("eval_loss", "glue/sst2"))
    elif name == "wandb":
        large = "microsoft/deberta-v3-large"
        add("names", "Which deberta large run had the lowest eval loss?",
            L.top(L.pick(rows, conv, model=large), "eval/loss", conv), (large, "eval/loss"))
        electra = "google/electra-base-discriminator"
        add("negation", "On ag_news, what's the best result from anything other than electra?",
            L.top(L.pick(rows, conv, "ag_news", test=lambda r: model(r) != electra), "eval/accuracy", conv),
            ("ag_news", electra))
        add("number", "Which runs used weight decay 0.01 with a learning rate of two e minus five?",
            L.ids(r for r in rows if L.number(r, "weight_decay") == 0.01 and L.number(r, "learning_rate") == 2e-5),
            ("weight_decay", "learning_rate"))
        add("unbound", "What's the best run on sst2?", {"kind": "refuse"})
    elif name == "mlflow":
        add("names", "What depth did the best cifar100 model have?",
            _one(L.pick(rows, conv, "cifar100"), conv, "val_acc1", "param:model.depth"), ("cifar100", "model.depth"))
        add("mean_per_group", "Which optimizer lr gives the best top-1 on cifar10 on average?",
            _best_mean(L.pick(rows, conv, "cifar10"), "val_acc1", "optimizer.lr", conv),
            ("optimizer.lr", "cifar10", "val_acc1"))
        add("ordinal", "Third best ImageNet run by top-5?",
            L.top(L.pick(rows, conv, "imagenet-1k"), "val_acc5", conv, skip=2), ("imagenet-1k", "val_acc5"))
        add("per_group", "best resnet50 run on each dataset",
            L.per_group(L.pick(rows, conv, model="resnet50"), "val_acc1", conv, lambda r: r.dataset), ("resnet50",))
        add("negation", "which ViT run did best, ignoring runs with a weight decay of 5e-4",
            L.top(L.pick(rows, conv, model="vit_b_16", test=lambda r: L.number(r, "optimizer.weight_decay") != 5e-4),
                  "val_acc1", conv), ("vit_b_16", "optimizer.weight_decay"))
    elif name == "keras":
        add("names", "Which run had the best validation accuracy on the flowers dataset?",
            L.top(L.pick(rows, conv, "tf_flowers"), "val_accuracy", conv), ("tf_flowers", "val_accuracy"))
        add("compare", "Compare the best cats vs dogs run with the best pets run",
            {"kind": "top", "field": "val_accuracy",
             "values": [L.ranked(L.pick(rows, conv, d), "val_accuracy", conv)[0].metrics["val_accuracy"]
                        for d in ("cats_vs_dogs", "oxford_iiit_pet")]}, ("cats_vs_dogs", "oxford_iiit_pet"))
        add("mean_per_group", "mean val accuracy for every architecture",
            {"kind": "groups", "agg": "mean", "groups": L.means(rows, "val_accuracy", model)}, ("val_accuracy",))
        add("number", "Which runs got over 90 percent validation accuracy?",
            L.ids(r for r in rows if r.metrics.get("val_accuracy", 0) > 0.9), ("val_accuracy",))
    elif name == "lightning":
        add("ordinal", "What was the runner-up's validation accuracy on food101?",
            L.top(L.pick(rows, conv, "food101"), "val_acc", conv, skip=1), ("food101", "val_acc"))
        add("negation", "Best test accuracy of the efficientnet runs, excluding eurosat",
            L.top(L.pick(rows, conv, model="efficientnet_b0", test=lambda r: r.dataset != "eurosat"), "test_acc", conv),
            ("efficientnet_b0", "eurosat", "test_acc"))
        add("number", "lowest epoch-level validation loss with a batch size under 64",
            L.top(L.pick(rows, conv, test=lambda r: (L.number(r, "batch_size") or 1e9) < 64), "val_loss_epoch", conv),
            ("val_loss_epoch", "batch_size"))
    elif name == "sklearn":
        add("names", "What value of C did the top SVC on moons use?",
            _one(L.pick(rows, conv, "make_moons", model="SVC"), conv, "mean_test_score", "param:param_C"),
            ("make_moons", "SVC", "param_C"))
        add("mean_per_group", "Which tree depth works best for the decision trees on circles?",
            _best_mean(L.pick(rows, conv, "make_circles", model="DecisionTreeClassifier"), "mean_test_score",
                       "param_max_depth", conv), ("make_circles", "DecisionTreeClassifier", "param_max_depth"))
        avg = L.means(rows, "mean_test_score", model)
        add("mean_per_group", "Which estimator scores best on average?",
            {"kind": "group_top", "group": max(avg, key=avg.get)}, ("mean_test_score",))
        add("unbound", "best run on the titanic data", {"kind": "refuse"})
    return out


def lab_heldout(dbs: dict[str, Path]) -> list[L.LabQuestion]:
    """The held-out questions over the DBs built by lab_dbs (name -> path)."""
    return [q for name, path in dbs.items() for q in heldout(name, path)]
