"""Small extractors, each pulling one kind of thing out of a question, with where it was said:
numbers (also said as words), fields from the DB's own vocabulary (metrics, parameters, datasets,
model kinds, parameter values), comparators bound to the nearest field, time ranges, top-k,
run references. `extract()` runs them all and returns `Slots` for the composer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from labvoice.knowledge.query.catalog import Catalog, name_parts
from labvoice.knowledge.query.numbers import ORDINALS, words_to_numbers  # noqa: F401 - ORDINALS re-exported
from labvoice.knowledge.query.when import TimeRange, time_range
from labvoice.knowledge.vocab import model_aliases

# --- tokens ------------------------------------------------------------------------------------------
CANON = {
    "validation": "val", "valid": "val", "dev": "val", "evaluation": "val", "eval": "val",
    "training": "train", "trained": "train", "trn": "train", "trains": "train",
    "accuracy": "acc", "accuracies": "acc", "accurate": "acc",
    "testing": "test", "tst": "test", "losses": "loss", "errors": "error", "err": "error",
    "epochs": "epoch", "units": "unit", "neurons": "unit", "layers": "layer", "estimators": "estimator",
    "trees": "estimator", "tree": "estimator", "seeds": "seed", "steps": "step", "iterations": "iter",
    "iteration": "iter", "initial": "init", "number": "n", "num": "n", "duration": "time", "runtime": "time",
    "seconds": "time", "secs": "time", "percent": "pct", "percentage": "pct", "f1score": "f1",
    "perplexity": "ppl", "sizes": "size", "rates": "rate", "depths": "depth", "schedules": "schedule",
    "optimiser": "optimizer", "optimizers": "optimizer", "dropouts": "dropout", "hidden": "hidden",
    "decays": "decay", "lrs": "lr", "batches": "batch", "times": "time",
}
OPTIONAL = {"n", "init", "pct", "final", "best", "mean", "avg", "score", "max", "min", "total"}
SPLITS = ("val", "test", "train")
SPLIT_PREFERENCE = {"val": 0, "test": 1, "": 2, "train": 3}
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?%?|[<>]=?|=")


def canon(word: str) -> str:
    word = word.lower()
    if word in CANON:
        return CANON[word]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return CANON.get(word, word)


def name_tokens(name: str) -> list[str]:
    """Canonical tokens of a DB name: `init_lr` -> [init, lr], `learning_rate` -> [lr]."""
    parts = [canon(p) for p in name_parts(name)]
    return _merge_bigrams(parts)


def _merge_bigrams(parts: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i] == "learning" and i + 1 < len(parts) and parts[i + 1] == "rate":
            out.append("lr")
            i += 2
            continue
        out.append(parts[i])
        i += 1
    return out


@dataclass(frozen=True)
class Token:
    text: str      # as written (lower case)
    canon: str
    pos: int       # index in the token list
    start: int     # character offset in the normalised text


def tokenize(text: str) -> list[Token]:
    raw = [(m.group(0), m.start()) for m in _WORD.finditer(text)]
    tokens: list[Token] = []
    i = 0
    while i < len(raw):
        word, start = raw[i]
        if word == "learning" and i + 1 < len(raw) and raw[i + 1][0] in ("rate", "rates"):
            tokens.append(Token("learning rate", "lr", len(tokens), start))
            i += 2
            continue
        tokens.append(Token(word, canon(word), len(tokens), start))
        i += 1
    return tokens


# --- mentions of DB names -------------------------------------------------------------------------
@dataclass(frozen=True)
class Mention:
    kind: str            # metric | param | dataset | model | value | run
    name: str            # the DB's name (for value: the parameter name)
    start: int           # first token position
    end: int             # last token position
    score: float = 1.0
    value: str | None = None   # for kind "value": the parameter value said


def _find_field(tokens: list[Token], core: list[str], optional: set[str], window: int = 3) -> list[tuple[int, int, int]]:
    """(start, end, optional matched) for each place all `core` tokens occur close together."""
    if not core:
        return []
    head = core[-1]
    found = []
    for tok in tokens:
        if tok.canon != head:
            continue
        lo, hi = max(0, tok.pos - window), min(len(tokens), tok.pos + window + 1)
        near = {t.canon: t.pos for t in tokens[lo:hi]}
        if all(c in near for c in core):
            positions = [near[c] for c in core]
            extra = [t.pos for t in tokens[max(0, min(positions) - 2):min(positions)] if t.canon in optional]
            start = min(positions + extra)
            found.append((start, max(positions), len(extra)))
    return found


def metric_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    """Each place a metric is named; where several metrics share the words said ("accuracy"), the one
    whose split (val/test/train) was said, else validation, then test, then none, then training."""
    said = {t.canon for t in tokens}
    by_span: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for metric in catalog.metric_names:
        toks = name_tokens(metric)
        splits = [t for t in toks if t in SPLITS]
        core = [t for t in toks if t not in SPLITS and t not in OPTIONAL] or [t for t in toks if t not in SPLITS]
        if not core:
            continue
        for start, end, extra in _find_field(tokens, core, set(splits) | OPTIONAL):
            near = {t.canon for t in tokens[max(0, start - 2):end + 2]}
            said_split = [s for s in SPLITS if s in near]
            if said_split and not (set(said_split) & set(splits)):
                continue    # "training loss" does not name val_loss
            split = splits[0] if splits else ""
            score = len(core) + extra + (1.0 if said_split else 0.0) - SPLIT_PREFERENCE.get(split, 2) * 0.01
            if splits and any(s in said for s in splits) and any(s in near for s in splits):
                start = min(start, *[t.pos for t in tokens[max(0, start - 2):start] if t.canon in splits] or [start])
            by_span.setdefault((start, end), []).append((score, metric))
    out = []
    for (start, end), scored in by_span.items():
        scored.sort(key=lambda p: (-p[0], catalog.metric_names.index(p[1])))
        out.append(Mention("metric", scored[0][1], start, end, scored[0][0]))
    return _drop_nested(out)


def param_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    out = []
    for param in catalog.param_names:
        toks = name_tokens(param)
        digits = [t for t in toks if t.isdigit()]
        core = [t for t in toks if t not in OPTIONAL and not t.isdigit()] or [t for t in toks if not t.isdigit()]
        if not core:
            continue
        unsaid_optional = [t for t in toks if t in OPTIONAL]
        for start, end, extra in _find_field(tokens, core, OPTIONAL | set(digits)):
            near = {t.canon for t in tokens[start:end + 3]}
            score = len(core) + extra * 0.5 + (0.5 if digits and digits[0] in near else 0.0) - (0.1 * len(digits)) \
                - 0.25 * max(0, len(unsaid_optional) - extra)
            out.append(Mention("param", param, start, end, score))
    return _best_per_span(out)


def _best_per_span(mentions: list[Mention]) -> list[Mention]:
    best: dict[tuple[int, int], Mention] = {}
    for m in mentions:
        key = (m.start, m.end)
        if key not in best or m.score > best[key].score:
            best[key] = m
    return _drop_nested(list(best.values()))


def _drop_nested(mentions: list[Mention]) -> list[Mention]:
    """A mention inside a longer one of the same kind goes ("val loss" keeps, "loss" alone goes)."""
    keep = []
    for m in mentions:
        if any(o is not m and o.start <= m.start and m.end <= o.end and (o.end - o.start) > (m.end - m.start)
               and o.score >= m.score for o in mentions):
            continue
        keep.append(m)
    return sorted(keep, key=lambda m: m.start)


def _position(tokens: list[Token], char_start: int) -> int:
    for tok in tokens:
        if tok.start >= char_start:
            return tok.pos
    return len(tokens) - 1 if tokens else 0


def dataset_mentions(text: str, tokens: list[Token], catalog: Catalog) -> list[Mention]:
    vocab_sets = catalog.vocab
    found = vocab_sets.match_datasets(text, {t.canon for t in tokens} | {t.text for t in tokens})
    if not found:
        found = _datasets_by_part(tokens, catalog)
    out = []
    for ds in found:
        spaced = re.sub(r"[_\-/]+", " ", ds.lower())
        first = re.split(r"[ ]", spaced)[0]
        m = re.search(re.escape(first[:4]), text) if first else None
        pos = _position(tokens, m.start()) if m else 0
        out.append(Mention("dataset", ds, pos, pos + max(0, len(spaced.split()) - 1)))
    return out


_GENERIC_PARTS = {"small", "large", "tiny", "full", "data", "dataset", "train", "test", "clean", "mini", "base",
                  "structure", "quality", "value", "model", "classification", "regression", "prediction"}


def _datasets_by_part(tokens: list[Token], catalog: Catalog) -> list[str]:
    """One distinctive word of a longer dataset name ("parkinsons" for parkinsons_telemonitoring), when it
    names exactly one dataset."""
    parts: dict[str, set[str]] = {}
    for ds in catalog.dataset_names:
        pieces = [p for p in re.split(r"[^a-z0-9]+", ds.lower()) if p]
        if len(pieces) < 2:
            continue
        for piece in pieces:
            if len(piece) >= 5 and piece not in _GENERIC_PARTS and not piece.isdigit():
                parts.setdefault(piece, set()).add(ds)
    said = {t.text for t in tokens}
    hits = {next(iter(names)) for piece, names in parts.items() if piece in said and len(names) == 1}
    return sorted(hits)


_STT_KIND_SLIPS = {"sdm": "svm", "svn": "svm", "s v m": "svm", "m l p": "mlp", "mlb": "mlp", "mop": "mlp",
                   "cnm": "cnn", "c n n": "cnn"}


def model_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    said: dict[str, int] = {}
    for tok in tokens:
        said.setdefault(tok.text, tok.pos)
        said.setdefault(tok.canon, tok.pos)
    joined = " ".join(t.text for t in tokens)
    for slip, real in _STT_KIND_SLIPS.items():
        if re.search(rf"\b{slip}s?\b", joined):
            said.setdefault(real, _position(tokens, re.search(rf"\b{slip}", joined).start()))
    # multi-word kinds ("random forest") as joined tokens
    for i in range(len(tokens) - 1):
        said.setdefault(f"{tokens[i].canon}_{tokens[i + 1].canon}", tokens[i].pos)
        said.setdefault(f"{tokens[i].text}_{tokens[i + 1].text}", tokens[i].pos)
        if i + 2 < len(tokens):
            said.setdefault(f"{tokens[i].text}_{tokens[i + 1].text}_{tokens[i + 2].text}", tokens[i].pos)
    out = []
    for kind in catalog.kind_names:
        aliases = model_aliases(kind)
        hits = [said[a] for a in aliases if a in said]
        if hits:
            out.append(Mention("model", kind, min(hits), min(hits)))
    # a family word naming several kinds ("svm" for linear_svm only when no exact kind said)
    return out


def value_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    """String parameter values said in the question ("adam", "invscaling schedule")."""
    out = []
    words = {t.text: t.pos for t in tokens}
    for param, values in catalog.category_values.items():
        for value in values:
            parts = [p for p in re.split(r"[^a-z0-9]+", value.lower()) if p]
            if parts and len(parts[0]) >= 3 and all(p in words for p in parts):
                pos = words[parts[0]]
                out.append(Mention("value", param, pos, pos + len(parts) - 1, value=value))
    return out


# --- numbers and comparators ------------------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    value: float
    pos: int
    percent: bool = False
    text: str = ""


def numbers(tokens: list[Token]) -> list[Number]:
    out = []
    for i, tok in enumerate(tokens):
        m = re.fullmatch(r"(\d+(?:\.\d+)?(?:e-?\d+)?)(%?)", tok.text)
        if m:
            pct = bool(m.group(2)) or (i + 1 < len(tokens) and tokens[i + 1].canon == "pct")
            out.append(Number(float(m.group(1)), tok.pos, pct, m.group(1)))
    return out


COMPARATORS = [
    (r"(?:at least|no less than|not less than|a minimum of|>=|or more|or higher|or above|reached|reach|reaches|"
     r"hit|hits|got to|made it to)", ">="),
    (r"(?:at most|no more than|not more than|a maximum of|up to|<=|or less|or fewer|or lower|or below)", "<="),
    (r"(?:above|over|greater than|more than|higher than|bigger than|larger than|exceeding|exceeds|exceed|exceeded|"
     r"beyond|cleared|clears|clear|topped|tops|surpassed|surpasses|passed|beat|beats|upwards of|north of|>)", ">"),
    (r"(?:below|under|less than|lower than|smaller than|fewer than|beneath|fell below|dropped below|short of|"
     r"south of|underneath|<)", "<"),
    (r"(?:better than)", "better"),
    (r"(?:worse than)", "worse"),
    (r"(?:equal to|equals|exactly|set to|=|of|is|was|at|with|for|to)", "="),
]


@dataclass(frozen=True)
class Condition:
    op: str
    value: float | tuple[float, float]
    comp_pos: int        # position of the comparator's first token
    num_pos: int         # position of the (last) number
    percent: bool = False


def conditions(text: str, tokens: list[Token], nums: list[Number]) -> list[Condition]:
    """Comparator + number pairs ("above 0.9", "between 10 and 50", "50 or more"), in order."""
    out: list[Condition] = []
    used: set[int] = set()
    by_pos = {n.pos: n for n in nums}
    for i, tok in enumerate(tokens):
        if tok.text in ("between", "from") and i + 3 < len(tokens) and i + 1 in by_pos and \
                tokens[i + 2].text in ("and", "to") and i + 3 in by_pos:
            lo, hi = by_pos[i + 1], by_pos[i + 3]
            out.append(Condition("between", (min(lo.value, hi.value), max(lo.value, hi.value)), i, i + 3,
                                 lo.percent or hi.percent))
            used |= {i + 1, i + 3}
    for num in nums:
        if num.pos in used:
            continue
        before = " ".join(t.text for t in tokens[max(0, num.pos - 3):num.pos])
        after = " ".join(t.text for t in tokens[num.pos + 1:num.pos + 3])
        op, comp_pos = None, num.pos
        for pattern, name in COMPARATORS[:6]:
            m = re.search(rf"(?:^|\s)({pattern})$", before)
            if m:
                op, comp_pos = name, num.pos - len(m.group(1).split())
                break
        if op is None:
            for pattern, name in COMPARATORS[:2]:
                if re.match(rf"(?:%\s|pct\s)?{pattern}\b", after):
                    op = name
                    break
        if op is not None:
            out.append(Condition(op, num.value, comp_pos, num.pos, num.percent))
    return out


# --- run references -----------------------------------------------------------------------------
_HEX = re.compile(r"\b[0-9a-f]{4,32}\b")
_RUN_NUMBER = re.compile(r"\brun (?:number |no\.? |#)?(\d{1,5})\b")


def run_references(text: str, catalog: Catalog) -> tuple[list[str], list[str]]:
    """(run ids named, hex-looking words that match no run). A short prefix counts when it names one
    run; "run seven" / "run number 7" is the seventh run logged."""
    found: list[str] = []
    unknown: list[str] = []
    for m in _HEX.finditer(text):
        word = m.group(0)
        if not re.search(r"\d", word) or (len(word) < 8 and not re.search(r"[a-f]", word)):
            continue
        if word in catalog.by_id:
            found.append(word)
            continue
        matches = catalog.ids_with_prefix(word) if len(word) >= 4 else []
        if len(matches) == 1:
            found.append(matches[0])
        elif len(word) >= 6:
            unknown.append(word)
    for m in _RUN_NUMBER.finditer(text):
        index = catalog.logged_position(int(m.group(1)))
        if index is not None:
            rid = catalog.runs[index].run_id
            if rid not in found:
                found.append(rid)
        else:
            unknown.append(f"run {m.group(1)}")
    return found, unknown


# --- top-k -----------------------------------------------------------------------------------------
RANK_WORDS = r"(?:best|top|worst|highest|lowest|strongest|weakest|greatest|biggest|largest|smallest|latest|" \
             r"earliest|first|last|newest|oldest|most recent|recent|fastest|slowest|leading|poorest)"


def top_k(text: str) -> tuple[int | None, int | None]:
    """(k, position in characters) from "top 3", "the 3 best", "best five", "two strongest"."""
    m = re.search(rf"\b{RANK_WORDS}\s+(\d{{1,2}})\b(?!\s*(?:%|pct|percent|epoch|unit|layer))", text) or \
        re.search(rf"\b(\d{{1,2}})\s+(?:\w+\s+)?{RANK_WORDS}\b", text) or \
        re.search(rf"\b(?:which|what|the|my|show me|list|give me|name) (\d{{1,2}}) (?:\w+ )?(?:runs|models|experiments|ones|"
                  rf"results)\b.{{0,30}}\b{RANK_WORDS}\b", text)
    if m:
        k = int(m.group(1))
        if 1 <= k <= 50:
            return k, m.start(1)
    return None, None


@dataclass
class Slots:
    """Everything the extractors found in one question."""

    text: str
    tokens: list[Token]
    metrics: list[Mention] = field(default_factory=list)
    params: list[Mention] = field(default_factory=list)
    datasets: list[Mention] = field(default_factory=list)
    models: list[Mention] = field(default_factory=list)
    values: list[Mention] = field(default_factory=list)
    numbers: list[Number] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    time: TimeRange | None = None
    run_ids: list[str] = field(default_factory=list)
    unknown_runs: list[str] = field(default_factory=list)
    k: int | None = None
    k_char: int | None = None


def normalize(question: str) -> str:
    text = question.lower().replace("\u2019", "'")
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
    text = words_to_numbers(text)
    # how people say training time
    text = re.sub(r"\b(longest|slowest|fastest|quickest|shortest|least time|most time)\s+(?:time\s+)?to\s+train\b",
                  r"\1 train time", text)
    text = re.sub(r"\btook (?:the )?(longest|shortest|most time|least time)\b", r"took \1 train time", text)
    text = re.sub(r"\bhow long\b", "how much train time", text)
    return text


_TIME_METRIC = re.compile(r"(^|_)(time|duration|runtime|seconds|secs)(_|$)")


def extract(question: str, catalog: Catalog, now: datetime | None = None) -> Slots:
    text = normalize(question)
    if any(_TIME_METRIC.search(m) for m in catalog.metric_names):
        # "the fastest run", "slowest model to train": a time metric when the DB has one
        text = re.sub(r"\b(fastest|slowest|quickest)\s+(runs?|models?|experiments?|ones?|architectures?|algorithms?|"
                      r"model types?|kinds?|datasets?)\b(?:\s+to\s+train)?",
                      r"\1 train time \2", text)
    tokens = tokenize(text)
    slots = Slots(text=text, tokens=tokens)
    slots.metrics = metric_mentions(tokens, catalog)
    slots.params = param_mentions(tokens, catalog)
    # a name that is both a metric and a parameter word goes to the longer mention
    slots.params = [p for p in slots.params if not any(m.start <= p.start and p.end <= m.end and
                                                       (m.end - m.start) > (p.end - p.start) for m in slots.metrics)]
    slots.metrics = [m for m in slots.metrics if not any(p.start <= m.start and m.end <= p.end and
                                                         (p.end - p.start) > (m.end - m.start) for p in slots.params)]
    slots.datasets = dataset_mentions(text, tokens, catalog)
    slots.models = model_mentions(tokens, catalog)
    slots.values = value_mentions(tokens, catalog)
    slots.run_ids, slots.unknown_runs = run_references(text, catalog)
    slots.numbers = [n for n in numbers(tokens)
                     if not any(n.text and n.text in rid for rid in slots.run_ids)
                     and not _inside_name(n, tokens)]
    slots.conditions = conditions(text, tokens, slots.numbers)
    slots.time = time_range(text, now or datetime.now(timezone.utc))
    slots.k, slots.k_char = top_k(text)
    return slots


def _inside_name(num: Number, tokens: list[Token]) -> bool:
    """"run 7" and "cifar 10" are not numbers to compare with; nor is a day of the month."""
    prev = tokens[num.pos - 1].text if num.pos > 0 else ""
    nxt = tokens[num.pos + 1].text if num.pos + 1 < len(tokens) else ""
    return prev in ("run", "number", "cifar", "resnet", "top") and prev != "top" or nxt in ("st", "nd", "rd", "th") \
        or bool(re.fullmatch(r"\d{4}", num.text) and prev in ("in", "of"))
