"""How results are written: for the window (full run ids, exact values) and for the ear (metric names in
words, at most three significant digits, percentages where natural, runs named as a colleague would,
"an MLP" not "a mlp", never an underscore or an eight-character id).

Every spoken sentence goes through `for_ear()` last, which enforces the rules above even when a
template slips.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from labvoice.knowledge.lexicon import lexicon

# Words for the parts of metric and parameter names, and words said letter by letter: lexicon.yaml.
NAME_WORDS = lexicon().spoken_words
ACRONYM_KINDS = lexicon().acronyms
# Letters whose spoken name starts with a vowel sound (for "an MLP", "an SVM", "a CNN").
VOWEL_LETTERS = set("aefhilmnorsx")
PERCENT_HEADS = lexicon().percent_words
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b")


def _split_name(name: str) -> list[str]:
    name = re.sub(r"(?<=[a-z])(?=[A-Z][a-z]{3})", "_", name)   # "RandomForestClassifier" -> random forest classifier
    parts = re.split(r"[^A-Za-z0-9]+", name)
    out: list[str] = []
    for part in parts:
        part = re.sub(r"(?<=[A-Za-z]{3})([vV]\d+)$", r"_\1", part)     # "mobilenetv3" -> "mobilenet", "v3"
        if "_" in part:
            out += [p for p in part.split("_") if p]
            continue
        # "cifar10" -> "cifar", "10"; "resnet18" -> "resnet", "18"
        # short letter+digit names stay whole ("f1", "l2", "top1" is split: "top 1")
        out += [part] if re.fullmatch(r"[A-Za-z]{1,2}\d+", part) else [p for p in re.findall(r"[A-Za-z]+|\d+", part) if p]
    return out


def words_for_name(name: str) -> str:
    """`val_accuracy` -> "validation accuracy", `init_lr` -> "initial learning rate", `n_units_1` ->
    "number of units 1"."""
    tokens = _split_name(name)
    if len(tokens) > 1 and tokens[0].lower() in lexicon().tool_prefixes:
        tokens = tokens[1:]                                         # scikit-learn's `param_C` is "C"
    if len(tokens) == 3 and tokens[0].lower() in ("n", "num") and tokens[2].isdigit():
        return f"{NAME_WORDS.get(tokens[1].lower(), tokens[1].lower())} in layer {tokens[2]}"   # n_units_1
    words = []
    for tok in tokens:
        low = tok.lower()
        words.append(NAME_WORDS.get(low, low.upper() if low in ACRONYM_KINDS else tok if len(tok) == 1 else low))
    text = " ".join(words)
    text = re.sub(r"\baccuracy ([15])\b", r"top \1 accuracy", text)        # val_acc1: "validation top 1 accuracy"
    return re.sub(r"\blearning rate rate\b", "learning rate", text) or name


def word_variants(name: str, limit: int = 16) -> set[str]:
    """The ways a name can be said word by word, each part either as written or in its words:
    `val_nll` -> "val nll", "validation nll", "val negative log likelihood", "validation negative log
    likelihood" (people expand some parts and spell others). At most `limit` variants."""
    variants = [""]
    for tok in _split_name(name):
        low = tok.lower()
        said = {low, NAME_WORDS.get(low, low)}
        variants = [f"{v} {s}".strip() for v in variants for s in sorted(said)][:limit]
    return set(variants)


def metric_words(name: str) -> str:
    return words_for_name(name)


def param_words(name: str) -> str:
    return words_for_name(name)


def kind_words(kind: str) -> str:
    """`linear_svm` -> "linear SVM", `mlp` -> "MLP", `logistic_regression` -> "logistic regression"."""
    if not kind:
        return "model"
    kind = kind.rsplit("/", 1)[-1]          # a hub id's namespace is not said: microsoft/deberta-v3-base
    return " ".join(t.upper() if t.lower() in ACRONYM_KINDS else NAME_WORDS.get(t.lower(), t.lower())
                    if t.lower() == "logreg" else t.lower() for t in _split_name(kind))


def dataset_words(dataset: str) -> str:
    """`naval_propulsion` -> "naval propulsion", `fashion_mnist` -> "fashion MNIST"."""
    if not dataset:
        return "an unnamed dataset"
    tokens = _split_name(dataset)
    if len(tokens) > 1 and tokens[0].lower() in lexicon().name_prefixes:
        tokens = tokens[1:]                                         # `make_moons` is "moons"
    return " ".join(t.upper() if t.lower() in ACRONYM_KINDS else t.lower() for t in tokens)


def article(phrase: str) -> str:
    """"an" or "a" for a spoken phrase: an MLP, an SVM, a CNN, an initial value, a random forest."""
    first = phrase.split()[0] if phrase.split() else ""
    if not first:
        return "a"
    if first.isupper() and len(first) > 1:        # read letter by letter
        return "an" if first[0].lower() in VOWEL_LETTERS else "a"
    if first[0].isdigit():
        return "an" if first.startswith(("8", "11", "18")) else "a"
    low = first.lower()
    if low.startswith(("uni", "use", "one", "eu")):
        return "a"
    if low.startswith(("hour", "honest")):
        return "an"
    return "an" if low[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


# --- numbers ---------------------------------------------------------------------------------------

def display_number(value) -> str:
    """Exact for the window: integers as integers, floats to 6 significant digits."""
    if value is None:
        return "not recorded"
    if isinstance(value, str):
        return value
    value = float(value)
    if math.isnan(value):
        return "not a number"
    if math.isinf(value):
        return "infinite"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _plain(value: float, digits: int = 3) -> str:
    """At most `digits` significant digits, written without an exponent."""
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits}g}")
    if rounded == int(rounded) and abs(rounded) >= 1:
        return str(int(rounded))
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(rounded)))))
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")


def spoken_number(value) -> str:
    """For the ear: at most three significant digits, no exponent ("0.0001", "98.1", "2050")."""
    if value is None:
        return "not recorded"
    if isinstance(value, str):
        return words_for_name(value) if "_" in value else value
    value = float(value)
    if not math.isfinite(value):
        return "infinite" if math.isinf(value) else "not a number"
    text = _plain(value)
    return text.replace("-", "minus ") if text.startswith("-") else text


def is_percent_metric(metric: str) -> bool:
    return any(t.lower() in PERCENT_HEADS or t.lower() == "pct" for t in _split_name(metric))


def spoken_metric_value(metric: str, value, stored_as_percent: bool = False) -> str:
    """0.9806 validation accuracy -> "98.1 percent"; stored as 97.3 -> "97.3 percent"; a loss -> "0.231"."""
    if value is None or isinstance(value, str):
        return spoken_number(value)
    value = float(value)
    if math.isfinite(value) and is_percent_metric(metric):
        if stored_as_percent and 0 <= value <= 100:
            return f"{_plain(value)} percent"
        if 0 <= value <= 1:
            return f"{_plain(value * 100)} percent"
    unit = lexicon().metric_unit(metric) if math.isfinite(value) else None
    if unit is not None:                  # durations for the ear: "1.5 hours", not "5400"
        seconds = value * unit.seconds
        for size, word in ((3600, "hours"), (60, "minutes")):
            if seconds >= 2 * size:
                return f"{_plain(seconds / size)} {word}"
        if seconds < 1:
            return f"{_plain(seconds * 1000)} milliseconds"
        if unit.seconds != 1:
            return f"{_plain(seconds)} seconds"
    return spoken_number(value)


def spoken_difference(metric: str, diff: float, stored_as_percent: bool = False) -> str:
    if is_percent_metric(metric) and math.isfinite(diff):
        points = diff if stored_as_percent else diff * 100
        if abs(points) <= 100:
            return f"{_plain(abs(points))} percentage points"
    return spoken_number(abs(diff))


# --- runs and times ---------------------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def when_words(moment: datetime | None, now: datetime | None = None) -> str:
    """"today", "yesterday", "on Tuesday", "on November 3", "on March 2, 2025"."""
    if moment is None:
        return ""
    now = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local, today = moment.astimezone(), now.astimezone()
    days = (today.date() - local.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if 1 < days < 7:
        return f"on {WEEKDAYS[local.weekday()]}"
    text = f"on {MONTHS[local.month - 1]} {local.day}"
    years = today.year - local.year
    return text if years == 0 else f"{text}, {'last year' if years == 1 else plural(years, 'year') + ' ago'}"


def run_words(model_kind: str, dataset: str, moment: datetime | None = None, now: datetime | None = None,
              definite: bool = True) -> str:
    """"the MLP on digits from today" (definite) or "an MLP on digits" (not)."""
    kind = kind_words(model_kind)
    head = f"the {kind}" if definite else with_article(kind)
    when = when_words(moment, now)
    when = f" from {when.removeprefix('on ')}" if when else ""
    return f"{head} on {dataset_words(dataset)}{when}"


def short_handle(run_id: str) -> str:
    """At most a short handle: the id's first three characters, spaced so they are read one by one."""
    return " ".join(run_id[:3])


def for_ear(text: str) -> str:
    """The last pass over any spoken text: no underscores, no long hex ids, single spaces."""
    text = _HEX_ID.sub(lambda m: f"run {short_handle(m.group(0))}", text)
    text = text.replace("_", " ")
    return re.sub(r"\s{2,}", " ", text).strip()


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def join_words(items: list[str], conj: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]
