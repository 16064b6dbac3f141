"""The vocabulary of a manifests DB: its metrics, datasets, model kinds and parameters, and how
words in a question map onto them.

Nothing is hard-coded to the demo DB: names come from the runs themselves; the alias tables
below only teach it how people say common ML terms ("validation accuracy" for `val_acc`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run

# Abbreviation -> canonical token, applied to metric/param names and to questions alike.
TOKEN_CANON = {
    "validation": "val", "valid": "val", "dev": "val", "eval": "val", "evaluation": "val",
    "training": "train", "trn": "train",
    "accuracy": "acc", "accuracies": "acc",
    "losses": "loss", "errors": "error", "err": "error",
    "testing": "test", "tst": "test",
    "f1score": "f1", "fscore": "f1",
    "perplexity": "ppl",
    "lr": "learning_rate",
    "estimators": "estimator", "trees": "estimator", "tree": "estimator",
    "layers": "layer", "units": "unit", "epochs": "epoch", "seeds": "seed", "steps": "step",
    "neurons": "unit", "iterations": "iter", "iteration": "iter",
}
PHRASE_CANON = [
    (r"\blearning[\s_-]*rates?\b", "learning_rate"),
    (r"\bbatch[\s_-]*sizes?\b", "batch_size"),
    (r"\bweight[\s_-]*decay\b", "weight_decay"),
    (r"\bhidden[\s_-]*(?:layer[\s_-]*)?(?:sizes?|units?)\b", "hidden_unit"),
    (r"\bf1[\s_-]*scores?\b", "f1"),
    (r"\bf[\s-]1\b", "f1"),
    (r"\bmulti[\s_-]*layer[\s_-]*perceptrons?\b", "mlp"),
    (r"\bneural[\s_-]*net(?:work)?s?\b", "mlp"),
    (r"\bsupport[\s_-]*vector[\s_-]*(?:machines?|classifiers?)?\b", "svm"),
    (r"\blog(?:istic)?[\s_-]*reg(?:ression)?\b", "logistic_regression"),
    (r"\brandom[\s_-]*forests?\b", "random_forest"),
    (r"\bgradient[\s_-]*boost(?:ing|ed)?(?:[\s_-]*trees?)?\b", "gradient_boosting"),
    (r"\bdecision[\s_-]*trees?\b", "decision_tree"),
    (r"\bnaive[\s_-]*bayes\b", "naive_bayes"),
    (r"\bnearest[\s_-]*neighbou?rs?\b", "knn"),
]
# Model families: any kind whose name contains one of these tokens answers to all of them.
MODEL_FAMILIES = [
    {"svm", "svc", "linear_svm", "linearsvc"},
    {"logistic_regression", "logreg", "logistic"},
    {"random_forest", "rf", "forest"},
    {"mlp", "mlpclassifier"},
    {"perceptron"},
    {"gradient_boosting", "gbm", "gbdt", "xgboost", "lightgbm"},
    {"decision_tree", "dtree"},
    {"knn", "kneighbors"},
    {"naive_bayes", "nb"},
    {"cnn", "convnet"},
    {"resnet"},
    {"transformer", "vit", "bert"},
]
# Metrics where smaller is better.
LOWER_IS_BETTER = {"loss", "error", "mse", "rmse", "mae", "mape", "ppl", "wer", "cer", "time",
                   "latency", "seconds", "duration", "nll", "bpb", "bpc"}
# When a question names no metric: the most usual headline metrics, in order of preference.
HEADLINE_HEADS = ("acc", "f1", "auc", "loss")
SPLIT_PREFERENCE = ("val", "test", "", "train")
SPLITS = {"val", "test", "train"}
# How speech-to-text mangles dataset names: split over up to this many words ("c far 10"), or one
# letter wrong in names at least this long (shorter names have too many real-word neighbours).
MAX_SPLIT_WORDS = 3
FUZZY_MIN_CHARS = 5
_SINGULAR_EXCEPTIONS = {"loss", "class", "bias", "mass", "process", "boss", "glass", "analysis", "ris"}


def singular(token: str) -> str:
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss") and token not in _SINGULAR_EXCEPTIONS:
        return token[:-1]
    return token


def normalize_text(text: str) -> str:
    """Lowercase, canonical phrases joined with underscores, punctuation spaced out."""
    text = text.lower()
    for pattern, repl in PHRASE_CANON:
        text = re.sub(pattern, repl, text)
    return text


def name_tokens(name: str) -> tuple[str, ...]:
    """`val_accuracy` -> ('val', 'acc'); `n_estimators` -> ('n', 'estimator')."""
    name = normalize_text(name)
    if name in ("learning_rate", "batch_size", "weight_decay", "hidden_unit"):
        return (name,)
    for joined in ("learning_rate", "batch_size", "weight_decay", "hidden_unit", "hidden_layer_size"):
        name = name.replace(joined, joined.replace("_", "\x00"))
    parts = [p.replace("\x00", "_") for p in re.split(r"[^a-z0-9\x00]+", name) if p]
    return tuple(TOKEN_CANON.get(singular(p), singular(p)) for p in parts)


def question_tokens(question: str) -> set[str]:
    text = normalize_text(question)
    raw = re.findall(r"[a-z0-9_]+(?:\.[0-9]+)?", text)
    tokens = set()
    for tok in raw:
        tokens.add(TOKEN_CANON.get(singular(tok), singular(tok)))
        if "_" in tok and tok not in ("learning_rate", "batch_size", "weight_decay", "hidden_unit"):
            tokens.update(TOKEN_CANON.get(singular(p), singular(p)) for p in tok.split("_") if p)
    return tokens


def is_lower_better(metric: str) -> bool:
    return any(tok in LOWER_IS_BETTER for tok in name_tokens(metric))


@dataclass(frozen=True)
class Vocabulary:
    metrics: tuple[str, ...]
    datasets: tuple[str, ...]
    model_kinds: tuple[str, ...]
    params: tuple[str, ...]
    run_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_runs(cls, runs: list[Run]) -> "Vocabulary":
        """The names the runs use, most used first. Runs of one sweep share their metric names and
        their parameters' names and types, so each distinct shape is counted once (100,000 runs of
        a dozen shapes take a pass of tuple building, not a million dict updates)."""
        metric_shapes = Counter(tuple(run.metrics) for run in runs)
        param_shapes = Counter((tuple(run.params), tuple(map(type, run.params.values()))) for run in runs)
        metrics: dict[str, int] = {}
        for names, count in metric_shapes.items():
            for key in names:
                metrics[key] = metrics.get(key, 0) + count
        params: dict[str, int] = {}
        for (names, types), count in param_shapes.items():
            for key, kind in zip(names, types):
                if key not in MODEL_PARAM_KEYS and issubclass(kind, (int, float)) and not issubclass(kind, bool):
                    params[key] = params.get(key, 0) + count
        return cls(
            metrics=tuple(sorted(metrics, key=lambda k: (-metrics[k], k))),
            datasets=tuple(sorted({r.dataset_id for r in runs if r.dataset_id})),
            model_kinds=tuple(sorted({r.model_kind for r in runs if r.model_kind})),
            params=tuple(sorted(params, key=lambda k: (-params[k], k))),
            run_ids=frozenset(r.run_id for r in runs),
        )

    def spoken_names(self) -> tuple[str, ...]:
        """Dataset and model names as a speech recogniser should spell them (hints for STT)."""
        return self.datasets + tuple(kind.replace("_", " ") for kind in self.model_kinds)

    # --- matching -------------------------------------------------------------------------
    def match_metrics(self, tokens: set[str]) -> list[str]:
        """Metrics the question names, best match first. A metric matches when its head word
        (acc, loss, f1...) is in the question; more matching qualifiers (val, train) rank higher."""
        scored = []
        for metric in self.metrics:
            toks = name_tokens(metric)
            heads = [t for t in toks if t not in SPLITS]
            if not heads or not all(h in tokens for h in heads):
                continue
            splits = [t for t in toks if t in SPLITS]
            if any(s not in tokens for s in splits) and any(s in tokens for s in SPLITS - set(splits)):
                continue  # question says "training" but the metric is a validation one
            matched_split = sum(1 for s in splits if s in tokens)
            split = splits[0] if splits else ""
            scored.append((-(len(heads) + matched_split), SPLIT_PREFERENCE.index(split) if split in SPLIT_PREFERENCE else 9, metric))
        return [m for *_, m in sorted(scored)]

    def headline_metric(self) -> str | None:
        """The metric to rank by when the question names none (validation accuracy if present)."""
        for head in HEADLINE_HEADS:
            candidates = self.match_metrics({head})
            if candidates:
                return candidates[0]
        return self.metrics[0] if self.metrics else None

    def match_datasets(self, question: str, tokens: set[str]) -> list[str]:
        text = normalize_text(question)
        found = []
        for ds in self.datasets:
            spaced = re.sub(r"[_\-/]+", " ", ds.lower())
            ds_tokens = {singular(t) for t in re.findall(r"[a-z0-9]+", spaced) if not re.fullmatch(r"v?\d+", t)}
            if has_phrase(text, ds.lower()) or has_phrase(text, spaced) or (ds_tokens and ds_tokens <= tokens):
                found.append(ds)
        # "fashion mnist" names fashion_mnist, not also mnist: drop names inside a longer match.
        spaced_found = {d: re.sub(r"[_\-/]+", " ", d.lower()) for d in found}
        found = [d for d in found if not any(o != d and spaced_found[d] in spaced_found[o] and
                                             spaced_found[o] in re.sub(r"[_\-/]+", " ", text) for o in found)]
        return found or self._match_datasets_as_heard(text)

    def _match_datasets_as_heard(self, text: str) -> list[str]:
        """Dataset names the way speech-to-text spells them: split ("M NIST", "cifar 10 small")
        or one letter off ("M-MIST" for mnist). Only a fallback when nothing matched exactly, and
        one-letter-off only for names of FUZZY_MIN_CHARS or more at the same length, so "emnist"
        (a different dataset) never matches mnist."""
        words = re.findall(r"[a-z0-9]+", text)
        heard = {"".join(words[i:i + n]) for n in range(1, MAX_SPLIT_WORDS + 1) for i in range(len(words) - n + 1)}
        found = {}
        for ds in self.datasets:
            compact = re.sub(r"[^a-z0-9]+", "", ds.lower())
            if compact in heard or (len(compact) >= FUZZY_MIN_CHARS and
                                    any(len(h) == len(compact) and _one_substitution(h, compact) for h in heard)):
                found[ds] = compact
        # "fashion nnist" is fashion_mnist, not also mnist
        return [d for d, c in found.items() if not any(o != d and c in oc for o, oc in found.items())]

    def match_model_kinds(self, tokens: set[str]) -> list[str]:
        return [kind for kind in self.model_kinds if model_aliases(kind) & tokens]

    def match_params(self, tokens: set[str]) -> list[str]:
        scored = []
        for param in self.params:
            toks = [t for t in name_tokens(param) if t not in ("n", "num", "max", "min", "init")]
            if toks and all(t in tokens for t in toks):
                scored.append((-len(toks), param))
        return [p for _, p in sorted(scored)]


def has_phrase(text: str, phrase: str) -> bool:
    """`phrase` in `text` as whole words ("mnist" is not in "emnist")."""
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


def _one_substitution(a: str, b: str) -> bool:
    """True when equal-length `a` and `b` differ in exactly one letter (digits must agree)."""
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diffs) == 1 and not (diffs[0][0].isdigit() or diffs[0][1].isdigit())


def model_aliases(kind: str) -> set[str]:
    """Every word a question may use for this model kind: its own name plus its family's names."""
    norm = re.sub(r"[\s\-]+", "_", normalize_text(kind).strip())
    parts = set(norm.split("_"))
    parts |= {re.sub(r"\d+$", "", p) for p in parts if len(re.sub(r"\d+$", "", p)) >= 3}  # resnet18 -> resnet
    aliases = {norm} | (parts - set(norm.split("_")))
    for family in MODEL_FAMILIES:
        if norm in family or parts & family:
            aliases |= family
    return aliases
