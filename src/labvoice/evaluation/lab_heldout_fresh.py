"""A second held-out set of the lab suite (split "heldout_fresh"): 37 typed questions over the six lab DBs,
six per DB (seven on the Trainer DB), written without reading the parser (src/labvoice/knowledge/) and
committed before they were ever run against it. They are worded the way practitioners type to a colleague
(terse, abbreviated, names said the short way: "c100", "deberta large", "mobilenet", "sts-b", numbers as
3e-5, 0.00005, .1, "ninety five percent") and share no wording with lab_heldout.py.
Nothing in the parser may copy them.

Ground truth is plain Python over each DB's rows (lab_dbs' truth helpers over query_truth.read_truth_rows);
the expectation kinds are lab_score's. Each question names the DB names an answer must use (`uses`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from labvoice.evaluation import lab_dbs as L
from labvoice.evaluation.lab_heldout import _best_mean

SPLIT = "heldout_fresh"
QUARTER_HOUR_S = 15 * 60


def _bests(rows, conv, metric: str, key, labels: tuple[str, ...]) -> dict[str, Any]:
    """The best `metric` of each of `labels` (in the order said), as a "top" expectation."""
    values = []
    for label in labels:
        chosen = L.ranked([r for r in rows if key(r) == label], metric, conv)
        values.append(chosen[0].metrics[metric] if chosen else None)
    return {"kind": "top", "field": metric, "values": values}


def heldout_fresh(name: str, db: Path) -> list[L.LabQuestion]:
    rows = L.read_truth_rows(db)
    conv = L.CONVENTIONS[name]
    out: list[L.LabQuestion] = []

    def add(operator: str, question: str, expect: dict, uses: tuple[str, ...] = ()) -> None:
        out.append(L.LabQuestion(f"{name}-fresh-{len(out) + 1}", name, operator, "heldout", question, expect,
                                 uses, split=SPLIT))

    model = lambda r: L.model_of(r, conv)  # noqa: E731

    if name == "hf":
        add("speed", "which finetune took the longest wall clock overall?",
            L.top(rows, "train_runtime", conv, best=False), ("train_runtime",))
        mrpc = L.pick(rows, conv, "glue/mrpc")
        add("duration", "any mrpc jobs run past 15 min of training?",
            L.ids(r for r in mrpc if r.metrics.get("train_runtime", 0) > QUARTER_HOUR_S),
            ("glue/mrpc", "train_runtime"))
        stsb = L.pick(rows, conv, "glue/stsb")
        add("subset_metric", "best sts-b run?",
            {"kind": "any_of", "options": [L.top(stsb, "eval_pearson", conv), L.top(stsb, "eval_spearmanr", conv)]},
            ("glue/stsb",))
        add("negation", "apart from bert-base, who's got the top f1 on mrpc",
            L.top(L.pick(mrpc, conv, test=lambda r: model(r) != "bert-base-uncased"), "eval_f1", conv),
            ("glue/mrpc", "eval_f1", "bert-base-uncased"))
        add("direction", "worst eval loss on sst2?",
            L.top(L.pick(rows, conv, "glue/sst2"), "eval_loss", conv, best=False), ("glue/sst2", "eval_loss"))
        add("number", "the distilbert runs on sst2 with lr 0.00005?",
            L.ids(L.pick(rows, conv, "glue/sst2", model="distilbert-base-uncased",
                         test=lambda r: L.number(r, "learning_rate") == 5e-5)),
            ("glue/sst2", "distilbert-base-uncased", "learning_rate"))
        add("unbound", "how'd deberta do on imdb", {"kind": "refuse"})
    elif name == "wandb":
        base, large = "microsoft/deberta-v3-base", "microsoft/deberta-v3-large"
        electra = "google/electra-base-discriminator"
        yelp = L.pick(rows, conv, "yelp_polarity")
        add("names", "top deberta base number on yelp",
            L.top(L.pick(yelp, conv, model=base), "eval/accuracy", conv), ("yelp_polarity", base))
        fam = L.pick(rows, conv, "ag_news", model=(base, large))
        add("ask_back", "best deberta on ag news?",
            {"kind": "any_of", "options": [{"kind": "ask_back", "options": [base, large]},
                                           L.top(fam, "eval/accuracy", conv)]}, ("ag_news",))
        add("direction", "who's got the lowest brier on yelp",
            L.top(yelp, "eval/brier_score", conv), ("yelp_polarity", "eval/brier_score"))
        add("compare", "electra vs deberta-large on yelp, best of each",
            _bests(yelp, conv, "eval/accuracy", model, (electra, large)), ("yelp_polarity", electra, large))
        add("number", "runs w/ wd .01 and lr 3e-5",
            L.ids(r for r in rows if L.number(r, "weight_decay") == 0.01 and L.number(r, "learning_rate") == 3e-5),
            ("weight_decay", "learning_rate"))
        add("negation", "yelp polarity, anything but electra - what's the top f1?",
            L.top(L.pick(yelp, conv, test=lambda r: model(r) != electra), "eval/f1", conv),
            ("yelp_polarity", "eval/f1", electra))
    elif name == "mlflow":
        c100 = L.pick(rows, conv, "cifar100")
        imnet = L.pick(rows, conv, "imagenet-1k")
        add("ordinal", "runner-up on cifar100 by top-1?", L.top(c100, "val_acc1", conv, skip=1),
            ("cifar100", "val_acc1"))
        add("per_group", "lowest val loss for each arch on imagenet",
            L.per_group(imnet, "val_loss", conv, model), ("imagenet-1k", "val_loss"))
        add("mean_per_group", "avg top1 per dataset for the resnet18s",
            {"kind": "groups", "agg": "mean",
             "groups": L.means(L.pick(rows, conv, model="resnet18"), "val_acc1", lambda r: r.dataset)},
            ("resnet18", "val_acc1"))
        add("negation", "leaving out resnet50, which run has the best top5 on imagenet",
            L.top(L.pick(imnet, conv, test=lambda r: model(r) != "resnet50"), "val_acc5", conv),
            ("imagenet-1k", "val_acc5", "resnet50"))
        add("names", "best convnext on c100", L.top(L.pick(c100, conv, model="convnext_tiny"), "val_acc1", conv),
            ("cifar100", "convnext_tiny"))
        add("number", "cifar10 runs at lr .1",
            L.ids(L.pick(rows, conv, "cifar10", test=lambda r: L.number(r, "optimizer.lr") == 0.1)),
            ("cifar10", "optimizer.lr"))
    elif name == "keras":
        pets = L.pick(rows, conv, "oxford_iiit_pet")
        flowers = L.pick(rows, conv, "tf_flowers")
        cats = L.pick(rows, conv, "cats_vs_dogs")
        add("ordinal", "2nd best val acc on pets", L.top(pets, "val_accuracy", conv, skip=1),
            ("oxford_iiit_pet", "val_accuracy"))
        add("direction", "which flowers run has the smallest val loss", L.top(flowers, "val_loss", conv),
            ("tf_flowers", "val_loss"))
        add("number", "which cats vs dogs runs cleared ninety five percent val acc?",
            L.ids(r for r in cats if r.metrics.get("val_accuracy", 0) > 0.95), ("cats_vs_dogs", "val_accuracy"))
        add("mean_per_group", "mean val acc, adam vs rmsprop",
            {"kind": "groups", "agg": "mean",
             "groups": L.means(rows, "val_accuracy", lambda r: r.params.get("optimizer"))},
            ("val_accuracy", "optimizer"))
        add("negation", "best on cats vs dogs that wasn't a mobilenet?",
            L.top(L.pick(cats, conv, test=lambda r: model(r) != "MobileNetV2"), "val_accuracy", conv),
            ("cats_vs_dogs", "MobileNetV2"))
        add("compare", "densenet or xception on flowers, who wins?",
            _bests(flowers, conv, "val_accuracy", model, ("DenseNet121", "Xception")),
            ("tf_flowers", "DenseNet121", "Xception"))
    elif name == "lightning":
        add("names", "best mobilenet on eurosat?",
            L.top(L.pick(rows, conv, "eurosat", model="mobilenetv3_large_100"), "val_acc", conv),
            ("eurosat", "mobilenetv3_large_100"))
        add("direction", "lowest val nll overall", L.top(rows, "val_nll", conv), ("val_nll",))
        add("number", "which runs had lr 0.0003 and batch 32",
            L.ids(r for r in rows if L.number(r, "lr") == 3e-4 and L.number(r, "batch_size") == 32),
            ("lr", "batch_size"))
        add("mean_per_group", "mean test acc per dataset for regnet",
            {"kind": "groups", "agg": "mean",
             "groups": L.means(L.pick(rows, conv, model="regnety_008"), "test_acc", lambda r: r.dataset)},
            ("regnety_008", "test_acc"))
        add("negation", "skip the stl10 ones - best val acc at batch size 128?",
            L.top(L.pick(rows, conv, test=lambda r: r.dataset != "stl10" and L.number(r, "batch_size") == 128),
                  "val_acc", conv), ("stl10", "batch_size"))
        add("unbound", "how did the overnight runs do?", {"kind": "refuse"})
    elif name == "sklearn":
        hastie = L.pick(rows, conv, "hastie_10_2")
        moons = L.pick(rows, conv, "make_moons")
        add("speed", "which config fits fastest on hastie?", L.top(hastie, "mean_fit_time", conv),
            ("hastie_10_2", "mean_fit_time"))
        add("per_group", "best cv score per dataset for the random forests",
            L.per_group(L.pick(rows, conv, model="RandomForestClassifier"), "mean_test_score", conv,
                        lambda r: r.dataset), ("RandomForestClassifier", "mean_test_score"))
        add("number", "svm with C=100 on circles, what'd it score?",
            L.top(L.pick(rows, conv, "make_circles", model="SVC", test=lambda r: L.number(r, "param_C") == 100.0),
                  "mean_test_score", conv), ("make_circles", "SVC", "param_C"))
        add("mean_per_group", "on average which max_depth is best for the forests on hastie",
            _best_mean(L.pick(hastie, conv, model="RandomForestClassifier"), "mean_test_score", "param_max_depth",
                       conv), ("hastie_10_2", "RandomForestClassifier", "param_max_depth"))
        add("compare", "svc vs random forest on moons, best of each",
            _bests(moons, conv, "mean_test_score", model, ("SVC", "RandomForestClassifier")),
            ("make_moons", "SVC", "RandomForestClassifier"))
        add("unbound", "how'd xgboost do on moons", {"kind": "refuse"})
    return out


def lab_heldout_fresh(dbs: dict[str, Path]) -> list[L.LabQuestion]:
    """The fresh held-out questions over the DBs built by lab_dbs (name -> path)."""
    return [q for name, path in dbs.items() for q in heldout_fresh(name, path)]
