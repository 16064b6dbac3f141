"""Small extractors, each pulling one kind of thing out of a question, with where it was said:
numbers (also said as words), fields from the DB's own vocabulary (metrics, parameters, datasets,
model kinds, parameter values), comparators bound to the nearest field, time ranges, top-k,
run references. `extract()` runs them all and returns `Slots` for the composer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from labvoice.knowledge.lexicon import name_tokens
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.mentions import (Mention, dataset_mentions, metric_mentions, model_mentions,
                                               param_mentions, value_mentions)
from labvoice.knowledge.query.numbers import words_to_numbers
from labvoice.knowledge.query.tokens import Token, tokenize
from labvoice.knowledge.query.when import TimeRange, time_range

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
        m = re.fullmatch(r"(\d+(?:\.\d+)?(?:e-?\d+)?|\.\d+(?:e-?\d+)?)(%?)", tok.text)
        if m:
            pct = bool(m.group(2)) or (i + 1 < len(tokens) and tokens[i + 1].canon == "pct")
            out.append(Number(float(m.group(1)), tok.pos, pct, m.group(1)))
    return out


COMPARATORS = [
    (r"(?:at least|no less than|not less than|a minimum of|>=|or more|or higher|or above|reached|reach|reaches|"
     r"hit|hits|got to|made it to)", ">="),
    (r"(?:at most|no more than|not more than|a maximum of|up to|<=|or less|or fewer|or lower|or below)", "<="),
    (r"(?:above|over|greater than|more than|higher than|bigger than|larger than|exceeding|exceeds|exceed|exceeded|"
     r"beyond|cleared|clears|clear|topped|tops|surpassed|surpasses|passed|beat|beats|upwards of|north of|longer than|"
     r"slower than|>)", ">"),
    (r"(?:below|under|less than|lower than|smaller than|fewer than|beneath|fell below|dropped below|short of|"
     r"shorter than|faster than|quicker than|within|"
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
    # spoken openings that carry no constraint ("I mean, what is ...": not the aggregate "mean")
    text = re.sub(r"^\W*(?:(?:um+|uh+|erm?|so|well|ok(?:ay)?|right|i mean|you know)\b[\s,.!]*)+", "", text)
    # "top-1 accuracy", "best top-5", "validation top 1": a metric, not "the top 1 runs"
    text = re.sub(r"\btop[\s-]?([15])(?=[\s-]*(?:acc\w*|err\w*|error\w*)\b)|\btop-([15])\b", lambda m: f"top{m.group(1) or m.group(2)}", text)
    text = re.sub(r"\b(best|highest|lowest|worst|validation|val|test|train|training|mean|average|my|by)\s+top\s([15])\b"
                  r"(?!\s+(?:runs?|models?|ones?|experiments?|results?))", r"\1 top\2", text)
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
    text = words_to_numbers(text)
    # "an hour", "half an hour", "2 and a half hours": durations with a number
    text = re.sub(r"\bhalf an? (hour|minute|day)\b", r"0.5 \1", text)
    text = re.sub(r"\b(\d+) and a half (hours?|minutes?|days?)\b", lambda m: f"{int(m.group(1)) + 0.5:g} {m.group(2)}", text)
    text = re.sub(r"\ban? (hour|minute|day|second)\b", r"1 \1", text)
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
        # "trained the fastest", "the slowest thing I ran": a speed word alone is about the time metric
        text = re.sub(r"\b(fastest|slowest|quickest)\b(?!\s+train time)", r"\1 train time", text)
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
    # A name said in full beats a parameter or metric word inside it ("decision tree" is no tree count);
    # a parameter beats one part of a name ("number of trees" is no decision tree).
    strong = {p for m in slots.models + slots.datasets if m.score > 1 for p in range(m.start, m.end + 1)}
    slots.params = [p for p in slots.params if not set(range(p.start, p.end + 1)) & strong]
    slots.metrics = [m for m in slots.metrics if not set(range(m.start, m.end + 1)) <= strong]
    fields = {p for m in slots.params + slots.metrics for p in range(m.start, m.end + 1)}
    slots.models = [m for m in slots.models if m.score > 1 or not set(range(m.start, m.end + 1)) & fields]
    slots.datasets = [m for m in slots.datasets if m.score > 1 or not set(range(m.start, m.end + 1)) & fields]
    slots.values = value_mentions(tokens, catalog)
    slots.run_ids, slots.unknown_runs = run_references(text, catalog)
    slots.numbers = [n for n in numbers(tokens)
                     if not any(n.text and n.text in rid for rid in slots.run_ids)
                     and not _inside_name(n, tokens)]
    slots.conditions = conditions(text, tokens, slots.numbers)
    slots.time = time_range(text, now or datetime.now(timezone.utc))
    slots.k, slots.k_char = top_k(text)
    return slots


def plain_text(slots: Slots) -> str:
    """The question with each metric and parameter name said replaced by a stand-in word ("accuracy",
    "learning rate"), so the words of a name (`mean_test_score`, `max_depth`) are never read as an
    aggregate or a superlative."""
    spans = []
    for mentions, stand_in in ((slots.metrics, "accuracy"), (slots.params, "learning rate")):
        for m in mentions:
            own = set(name_tokens(m.name))
            first = m.start
            while first < m.end and slots.tokens[first].canon not in own:
                first += 1           # "best" in "best validation accuracy" is the question's, not the name's
            spans.append((slots.tokens[first].start, slots.tokens[m.end].stop, stand_in))
    spans.sort()
    out, at = [], 0
    for start, stop, stand_in in spans:
        if start < at:
            continue
        out += [slots.text[at:start], stand_in]
        at = stop
    return "".join(out) + slots.text[at:]


def _inside_name(num: Number, tokens: list[Token]) -> bool:
    """"run 7" and "cifar 10" are not numbers to compare with; nor is a day of the month."""
    prev = tokens[num.pos - 1].text if num.pos > 0 else ""
    nxt = tokens[num.pos + 1].text if num.pos + 1 < len(tokens) else ""
    return prev in ("run", "number", "cifar", "resnet", "top") and prev != "top" or nxt in ("st", "nd", "rd", "th") \
        or bool(re.fullmatch(r"\d{4}", num.text) and prev in ("in", "of"))
