"""The vocabulary of a manifests DB: its metrics, datasets, model kinds and parameters, and how
words in a question map onto them.

Nothing is hard-coded to a DB: names come from the runs themselves; the lexicon (lexicon.yaml) only
teaches it how people say common ML terms ("validation accuracy" for `val_acc`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from labvoice.knowledge.lexicon import lexicon, merge_phrases, name_parts
from labvoice.knowledge.store import MODEL_PARAM_KEYS, Run

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


def _canon(token: str) -> str:
    lex = lexicon()
    token = singular(token)
    return lex.canonical.get(token, token)


def _joined_phrases() -> set[str]:
    """Lexicon phrase tokens that keep their underscore ("batch size" -> one token)."""
    return {repl for _, repl in lexicon().phrases + lexicon().model_phrases if "_" in repl}


def normalize_text(text: str) -> str:
    """Lowercase, the lexicon's phrases ("learning rate", "random forest") joined into one token,
    punctuation spaced out."""
    text = text.lower()
    for pattern, repl in lexicon().model_phrases + lexicon().phrases:
        text = pattern.sub(repl, text)
    return text


def name_tokens(name: str) -> tuple[str, ...]:
    """`val_accuracy` -> ('val', 'acc'); `n_estimators` -> ('n', 'estimator'); `val_acc1` -> ('val', 'top1')."""
    return tuple(tok for tok, _, _ in merge_phrases(name_parts(name)))


def question_tokens(question: str) -> set[str]:
    text = normalize_text(question)
    raw = re.findall(r"[a-z0-9_]+(?:\.[0-9]+)?", text)
    joined = _joined_phrases()
    tokens = set()
    for tok in raw:
        tokens.add(tok if tok in joined else _canon(tok))
        if "_" in tok and tok not in joined:
            tokens.update(_canon(p) for p in tok.split("_") if p)
    return tokens


def is_lower_better(metric: str) -> bool:
    return lexicon().direction(metric)[0]


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
            heads = [t for t in heads if t not in lexicon().metric_qualifiers] or heads[-1:]
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
        for head in lexicon().headline_heads:
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
    for family in lexicon().families:
        if norm in family or parts & family:
            aliases |= family
    return aliases
