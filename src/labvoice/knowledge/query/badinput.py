"""Bad input: names a question uses that the DB does not have (a metric, parameter, dataset, model or
run id), and things about runs no query can work out. Each becomes one sentence naming what the DB
does have, so nothing is answered about runs that do not exist.
"""
from __future__ import annotations

import re

from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.extract import Slots
from labvoice.knowledge.query.when import MONTH_NAMES, WEEKDAY_NAMES
from labvoice.knowledge.query.wording import dataset_words, join_words, kind_words, metric_words, param_words

# Common words for metrics, parameters and models: named in a question but absent from the DB, they
# get a one-sentence "the DB has no such thing".
METRIC_WORDS = ("precision", "recall", "auc", "bleu", "rouge", "perplexity", "mse", "rmse", "mae", "iou",
                "wer", "throughput", "latency", "memory", "f1", "loss", "error", "accuracy", "training time", "train time")
PARAM_WORDS = ("dropout", "batch size", "momentum", "weight decay", "optimizer", "learning rate", "epochs",
               "layers", "hidden units", "depth", "estimators", "warmup", "temperature", "seed")
MODEL_WORDS = ("resnet", "transformer", "cnn", "xgboost", "bert", "lstm", "gpt", "vit", "svm", "mlp",
               "random forest", "logistic regression", "perceptron", "knn", "decision tree", "naive bayes",
               "gradient boosting", "rnn", "unet", "lightgbm")
# Things people ask about runs that the manifests do not record, or that need reasoning no query does.
UNSUPPORTED_CONCEPTS = (
    (r"\b(overfit\w*|underfit\w*|generali[sz]ation gap)\b", "how much a run overfits (it needs the training "
     "and validation curves compared, which no query does yet)"),
    (r"\bwhy\b", "why something happened (the runs record results, not causes)"),
    (r"\b(gpu memory|vram|memory use\w*|carbon|emissions?|energy|electricity|cost|price|dollars?)\b",
     "that (the runs do not record it)"),
    (r"\b(converge\w* (fastest|slowest|quickest))\b", "how fast runs converged (that needs the curves)"),
    (r"\b(who (ran|trained|logged|made))\b", "who ran what (the runs do not record people)"),
)
_NOT_DATASETS = {"average", "it", "that", "this", "the", "them", "those", "each", "all", "any", "one", "record",
                 "top", "file", "disk", "test", "val", "validation", "train", "training", "my", "our", "your",
                 "cpu", "gpu", "publishing", "purpose", "paper", "time", "earth", "a", "an", "average", "both",
                 "every", "which", "what", "me", "runs", "run", "models", "model", "its", "accuracy", "loss",
                 "these", "us", "there", "here", "publication", "whole", "first", "last", "number", "date",
                 "more", "less", "fewer", "over", "under", "above", "below", "than", "some", "long", "longer",
                 "longest", "short", "now", "average", "real", "sure", "good", "free", "example", "instance",
                 "once", "ever", "while", "how", "why", "what", "when", "who", "whom", "so", "far", "most", "least"}


def missing_names(cat: Catalog, slots: Slots) -> str:
    """One sentence naming what the DB has, when the question names something it does not; else ""."""
    text = slots.text
    if slots.unknown_runs and not slots.run_ids:
        return (f"No run is called {slots.unknown_runs[0]}; there are {len(cat.runs)} runs, "
                f"for example {cat.runs[int(cat.order[-1])].run_id} (the latest)." if cat.runs
                else "There are no runs yet.")
    covered = {t.pos for m in slots.metrics + slots.params + slots.models + slots.datasets + slots.values
               for t in slots.tokens[m.start:m.end + 1]}
    covered |= {t.pos for t in slots.tokens if " " in t.text}   # a lexicon phrase ("ran out of memory") is one word
    said_words = [t for t in slots.tokens if t.pos not in covered]
    said = " ".join(t.text for t in said_words)
    for word in METRIC_WORDS:
        if re.search(rf"\b{word}\b", said) and not slots.metrics:
            if word in ("accuracy", "loss", "error") and any(word[:3] in m for m in cat.metric_names):
                continue
            return (f"The runs record no {word}; their metrics are "
                    f"{join_words([metric_words(m) for m in cat.metric_names[:8]])}.")
    for word in PARAM_WORDS:
        if re.search(rf"\b{word}\b", said) and not any(word.split()[0][:5] in p for p in cat.param_names) \
                and not slots.params:
            return (f"The runs have no {word} setting; their parameters are "
                    f"{join_words([param_words(p) for p in cat.param_names[:10]])}.")
    for word in MODEL_WORDS:
        if re.search(rf"\b{word}s?\b", said) and not slots.models:
            return (f"No runs used {word}; the model kinds are {join_words([kind_words(k) for k in cat.kind_names[:8]])}."
                    if cat.kind_names else f"No runs used {word}.")
    if not slots.datasets:
        # "on imagenet", "on the imagenet dataset", "for the imagenet benchmark" ("best for production" is no dataset)
        m = re.search(r"\b(on|for) (?:the )?([a-z][a-z0-9_\-]*)(?: (dataset|data|set|benchmark))?\b", text)
        named = m is not None and m.group(2) not in _NOT_DATASETS and (
            bool(m.group(3)) or (m.group(1) == "on" and re.search(r"\b(best|top|accuracy|loss|runs?|worst|do|did|does|doing|"
                                                                  r"perform\w*|score\w*|fare\w*|went|trained|ran)\b",
                                                                  text[:m.start()]) is not None))
        if named:
            word = m.group(2)
            known = {t for name in cat.dataset_names + cat.metric_names + cat.param_names + cat.kind_names
                     for t in re.split(r"[_\-]+", name.lower())}
            known |= {t.text for t in slots.tokens if t.pos in covered}
            values = {v.lower() for vs in cat.category_values.values() for v in vs}
            if word not in known and word.rstrip("s") not in known and word not in values and not \
                    re.fullmatch(r"\d.*|(average|each|every|all|both|either|runs?|it|them|publishing|.*ing)", word) \
                    and not (slots.time and word in slots.time.said) and word not in _month_words():
                return (f"There are no runs on {word}; the runs are on "
                        f"{join_words([dataset_words(d) for d in cat.dataset_names[:8]])}." if cat.dataset_names
                        else f"There are no runs on {word}.")
    return ""


def _month_words() -> set[str]:
    return set(MONTH_NAMES) | set(WEEKDAY_NAMES) | {"today", "yesterday"}
