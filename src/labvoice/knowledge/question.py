"""What a question asks, in terms of the DB's own vocabulary: intent, metric, dataset, models,
top-k, threshold, parameter. Deterministic rules, so the facts behind an answer are reproducible.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from labvoice.knowledge.vocab import Vocabulary, model_aliases, normalize_text, question_tokens

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3}
MAX_TOP_K = 20


class Intent(str, Enum):
    LEADERBOARD = "leaderboard"       # best / top-k / lowest loss by a metric
    COMPARE = "compare"               # best of one kind vs best of another, or named runs
    THRESHOLD = "threshold"           # runs above/below a value
    MOST_RECENT = "most_recent"
    PARAM_EXTREME = "param_extreme"   # run with the largest/smallest value of a parameter
    PARAM_OF_BEST = "param_of_best"   # a parameter of the best run of some kind
    FLAGGED = "flagged"               # runs flagged for publishing
    NOTE_SEARCH = "note_search"       # runs whose note says ...
    COUNT = "count"
    RUN_DETAILS = "run_details"       # questions naming run ids
    FLAG_REQUEST = "flag_request"     # "flag it for publishing" (a write; the app confirms it)
    SMALL_TALK = "small_talk"
    UNKNOWN_TOPIC = "unknown_topic"   # about runs, but nothing in the DB matches


@dataclass(frozen=True)
class Query:
    intent: Intent
    metric: str | None = None
    metric_named: bool = False
    datasets: tuple[str, ...] = ()
    model_kinds: tuple[str, ...] = ()
    k: int = 1
    k_named: bool = False
    threshold: float | None = None
    comparator: str | None = None      # ">", ">=", "<", "<="
    param: str | None = None
    largest: bool = True
    note_terms: tuple[str, ...] = ()
    run_ids: tuple[str, ...] = ()
    worst: bool = False
    words: frozenset[str] = field(default_factory=frozenset)


_RUNS_WORDS = {"run", "runs", "model", "models", "experiment", "experiments", "result", "results",
               "metric", "metrics", "accuracy", "loss", "trained", "training", "dataset", "best", "top"}
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|thanks|thank you|"
                       r"how are you|who are you|what can you do|tell me a joke|bye|goodbye)\b", re.I)
_THRESHOLD = re.compile(
    r"(above|over|greater than|more than|higher than|exceed(?:s|ing)?|at least|better than|"
    r"below|under|less than|lower than|at most|smaller than|worse than|>=|<=|>|<)\s*"
    r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(%|percent)?", re.I)
_RUN_ID = re.compile(r"\b[0-9a-f]{8}\b")
_TOP_K = re.compile(r"\b(?:top|best|first|highest|lowest|worst)[\s-]+(\d+|" + "|".join(NUMBER_WORDS) + r")\b"
                    r"|\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(?:best|top|highest|lowest|worst)\b", re.I)


def _comparator(word: str) -> str:
    word = word.lower()
    if word in (">", ">=", "<", "<="):
        return word
    if word in ("at least",):
        return ">="
    if word in ("at most",):
        return "<="
    if word in ("below", "under", "less than", "lower than", "smaller than", "worse than"):
        return "<"
    return ">"


def parse_question(question: str, vocab: Vocabulary) -> Query:
    text = normalize_text(question)
    tokens = question_tokens(question)
    words = frozenset(tokens)
    metrics = vocab.match_metrics(tokens)
    datasets = tuple(vocab.match_datasets(question, tokens))
    kinds = tuple(vocab.match_model_kinds(tokens))
    params = vocab.match_params(tokens)
    run_ids = tuple(rid for rid in _RUN_ID.findall(text) if rid in vocab.run_ids)
    metric = metrics[0] if metrics else vocab.headline_metric()
    base = dict(metric=metric, metric_named=bool(metrics), datasets=datasets, model_kinds=kinds, words=words)

    k, k_named = 1, False
    if m := _TOP_K.search(text):
        raw = (m.group(1) or m.group(2)).lower()
        k = min(MAX_TOP_K, int(raw) if raw.isdigit() else NUMBER_WORDS[raw])
        k_named = True
    elif re.search(r"\b(leaderboard|rank|ranking|top)\b", text):
        k, k_named = 0, False  # 0 = the configured default length
    worst = bool(re.search(r"\b(worst|poorest)\b", text))

    if re.search(r"\b(flag|mark|tag)\b.*\bpublish", text) and not re.search(r"\b(which|what|show|list|any|are|were)\b", text):
        return Query(Intent.FLAG_REQUEST, run_ids=run_ids, k=1, **base)
    if re.search(r"\bpublish(ing|ed)?\b|\bflagged\b|\bflags?\b", text):
        return Query(Intent.FLAGGED, note_terms=("publish",), **base)
    if re.search(r"\bdiverg|\bexplod|\bunstable\b|\bnan\b|\bcrash", text):
        return Query(Intent.NOTE_SEARCH, note_terms=("diverg", "explod", "nan", "unstable", "crash"), **base)
    if m := re.search(r"\bnotes?\b\s+(?:says?|mentions?|contains?|with|about)?\s*['\"]?([a-z0-9_\- ]{3,40})", text):
        term = m.group(1).strip(" '\"?.")
        return Query(Intent.NOTE_SEARCH, note_terms=(term,), **base)
    if re.search(r"\bhow many\b|\bnumber of runs\b|\bcount\b", text):
        return Query(Intent.COUNT, **base)
    if re.search(r"\b(most recent|latest|newest)\b|\blast (run|experiment|one|training|model)\b|\blast\W*$", text):
        return Query(Intent.MOST_RECENT, **base)
    if run_ids and not re.search(r"\bcompare|\bversus\b|\bvs\.?\b", text):
        return Query(Intent.RUN_DETAILS, run_ids=run_ids, **base)
    if re.search(r"\bcompare|\bversus\b|\bvs\.?\b|\bagainst\b|\bdifference between\b", text) or len(kinds) >= 2 \
            or len(run_ids) >= 2:
        return Query(Intent.COMPARE, run_ids=run_ids, **base)
    if m := _THRESHOLD.search(text):
        value = float(m.group(2))
        if m.group(3):
            value /= 100.0
        return Query(Intent.THRESHOLD, threshold=value, comparator=_comparator(m.group(1)), **base)
    if params:
        extreme = _param_extreme(text, params[0])
        if extreme is not None and not (re.search(r"\b(best|top|winning)\b", text) and not _adjacent(text, params[0])):
            return Query(Intent.PARAM_EXTREME, param=params[0], largest=extreme, **base)
        return Query(Intent.PARAM_OF_BEST, param=params[0], **base)
    if not datasets and (unknown := _unknown_dataset(text, vocab)):
        return Query(Intent.UNKNOWN_TOPIC, note_terms=(unknown,), **base)
    leaderboard_words = re.search(r"\b(best|top|highest|lowest|worst|leaderboard|rank|ranking|winner|"
                                  r"maximum|minimum|smallest|largest)\b", text)
    if leaderboard_words or metrics or datasets or kinds:
        return Query(Intent.LEADERBOARD, k=k, k_named=k_named, worst=worst, **base)
    if _GREETING.search(question) or not (tokens & _RUNS_WORDS):
        return Query(Intent.SMALL_TALK, **base)
    return Query(Intent.UNKNOWN_TOPIC, **base)


_LARGEST = ("largest", "biggest", "highest", "most", "greatest", "maximum", "max")
_SMALLEST = ("smallest", "lowest", "least", "minimum", "min", "fewest")


def _param_extreme(text: str, param: str) -> bool | None:
    """True for largest, False for smallest, None when the question asks neither.
    Words that are part of the parameter's own name (`max` in `max_depth`) do not count."""
    own = set(re.split(r"[^a-z0-9]+", param.lower()))
    for word in re.findall(r"[a-z]+", text):
        if word in own:
            continue
        if word in _LARGEST:
            return True
        if word in _SMALLEST:
            return False
    return None


def _adjacent(text: str, param: str) -> bool:
    """An extreme word right before the parameter ("the highest learning rate")."""
    head = re.escape(param.lower().split("_")[-1].rstrip("s")[:5])
    return bool(re.search(r"\b(" + "|".join(_LARGEST + _SMALLEST) + r")\s+(?:\w+\s+)?\w*" + head, text))


_NOT_DATASETS = {"average", "it", "that", "this", "the", "them", "those", "each", "all", "any", "one", "record",
                 "top", "file", "disk", "test", "val", "validation", "train", "training", "my", "our", "your",
                 "cpu", "gpu", "publishing", "purpose", "paper", "time", "earth", "a", "an"}


def _unknown_dataset(text: str, vocab: Vocabulary) -> str | None:
    """A dataset the question names ("on imagenet") that the DB does not have, so the answer is
    "no runs on imagenet" instead of the best run on everything."""
    m = re.search(r"\b(?:on|for) (?:the )?([a-z][a-z0-9_\-]*)(?: (?:dataset|data|set|benchmark))?\b", text)
    if not m or m.group(1) in _NOT_DATASETS:
        return None
    word = m.group(1)
    known = {t for d in vocab.datasets for t in re.split(r"[_\-/ ]+", d.lower())}
    known |= {t for name in vocab.metrics + vocab.params + vocab.model_kinds for t in re.split(r"[_\-]+", name.lower())}
    if word in known or word.rstrip("s") in known or any(word in model_aliases(k) for k in vocab.model_kinds):
        return None
    return word if re.search(r"(dataset|data|set|benchmark)\b", text[m.end():m.end() + 12]) or \
        re.search(r"\b(best|top|accuracy|loss|runs?)\b", text[:m.start()]) else None
