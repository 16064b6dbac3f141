"""Small extractors, each pulling one kind of thing out of a question, with where it was said:
numbers (also said as words), fields from the DB's own vocabulary (metrics, parameters, datasets,
model kinds, parameter values), comparators bound to the nearest field, time ranges, top-k,
run references. `extract()` runs them all and returns `Slots` for the composer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from labvoice.knowledge.lexicon import lexicon, merge_phrases, name_parts, name_tokens  # noqa: F401 - re-exported
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.numbers import ORDINALS, words_to_numbers  # noqa: F401 - ORDINALS re-exported
from labvoice.knowledge.query.when import TimeRange, time_range
from labvoice.knowledge.vocab import model_aliases

# --- tokens ------------------------------------------------------------------------------------------
SPLITS = ("val", "test", "train")
SPLIT_PREFERENCE = {"val": 0, "test": 1, "": 2, "train": 3}
_WORD = re.compile(r"(?:\d+(?:\.\d+)?|(?<![\w.])\.\d+)(?:e-?\d+)?%?|[a-z0-9]+(?:\.[0-9]+)?%?|[<>]=?|=")


def canon(word: str) -> str:
    return lexicon().canon(word)


@dataclass(frozen=True)
class Token:
    text: str      # as written (lower case)
    canon: str
    pos: int       # index in the token list
    start: int     # character offset in the normalised text
    stop: int = 0  # character offset just after it


def tokenize(text: str) -> list[Token]:
    raw = [(m.group(0), m.start()) for m in _WORD.finditer(text)]
    tokens: list[Token] = []
    for tok, first, last in merge_phrases([w for w, _ in raw]):
        said = " ".join(w for w, _ in raw[first:last + 1])
        tokens.append(Token(said, tok if last > first else canon(raw[first][0]), len(tokens), raw[first][1],
                            raw[last][1] + len(raw[last][0])))
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
    alternatives: tuple[str, ...] = ()   # other names that fit the words said here just as well


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
    optional = lexicon().metric_qualifiers
    by_span: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for metric in catalog.metric_names:
        toks = name_tokens(metric)
        splits = [t for t in toks if t in SPLITS] or catalog.implied_split(metric)
        core = [t for t in toks if t not in SPLITS and t not in optional] or [t for t in toks if t not in SPLITS][-1:]
        if not core:
            continue
        own = set(toks) & optional
        minor = 0.01 * len(own & lexicon().minor_qualifiers)     # a per-step value when a per-epoch one exists
        for start, end, extra in _find_field(tokens, core, set(splits) | own):
            near = {t.canon for t in tokens[max(0, start - 2):end + 2]}
            said_split = [s for s in SPLITS if s in near]
            if said_split and not (set(said_split) & set(splits)):
                continue    # "training loss" does not name val_loss
            split = splits[0] if splits else ""
            score = len(core) + extra + (1.0 if said_split else 0.0) - SPLIT_PREFERENCE.get(split, 2) * 0.01 - minor
            if splits and any(s in said for s in splits) and any(s in near for s in splits):
                start = min(start, *[t.pos for t in tokens[max(0, start - 2):start] if t.canon in splits] or [start])
            by_span.setdefault((start, end), []).append((score, metric))
    out = []
    for (start, end), scored in by_span.items():
        scored.sort(key=lambda p: (-p[0], catalog.metric_names.index(p[1])))
        ties = tuple(name for score, name in scored[1:] if abs(score - scored[0][0]) < 1e-9)
        out.append(Mention("metric", scored[0][1], start, end, scored[0][0], alternatives=ties))
    return _drop_nested(out)


def param_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    """Each place a parameter is named. Qualifier words of a name (`per_device_train_batch_size`:
    per, device, train) may go unsaid; each one said counts for it, each unsaid one a little against,
    so "batch size" is `batch_size` where the DB has it, and two names that fit equally are both kept
    (the composer asks which)."""
    qualifiers = lexicon().qualifiers
    out = []
    for param in catalog.param_names:
        toks = name_tokens(param)
        digits = [t for t in toks if t.isdigit()]
        own = {t for t in toks if t in qualifiers}
        core = [t for t in toks if t not in qualifiers and not t.isdigit()] or [t for t in toks if not t.isdigit()]
        if not core:
            continue
        for start, end, extra in _find_field(tokens, core, own | set(digits)):
            near = {t.canon for t in tokens[start:end + 4]}   # "units in layer 1"
            score = len(core) + extra * 0.5 + (0.5 if digits and digits[0] in near else 0.0) - (0.1 * len(digits)) \
                - 0.25 * max(0, len(own) - extra)
            out.append(Mention("param", param, start, end, score))
    return _best_per_span(out)


def _best_per_span(mentions: list[Mention]) -> list[Mention]:
    by_span: dict[tuple[int, int], list[Mention]] = {}
    for m in mentions:
        by_span.setdefault((m.start, m.end), []).append(m)
    best = []
    for found in by_span.values():
        found.sort(key=lambda m: (-m.score, m.name))
        ties = tuple(m.name for m in found[1:] if abs(m.score - found[0].score) < 1e-9)
        best.append(Mention(found[0].kind, found[0].name, found[0].start, found[0].end, found[0].score,
                            alternatives=ties))
    return _drop_nested(best)


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
    """Datasets named by their whole name, their name without namespace or version ("sst2" for
    `glue/sst2`), or a family word; a family word naming several datasets is kept with the others as
    alternatives (the composer asks which)."""
    hits = catalog.dataset_index.find([t.text for t in tokens])
    if hits:
        return [Mention("dataset", h.names[0], h.start, h.end, float(h.level), alternatives=h.names[1:])
                for h in hits]
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


def model_mentions(tokens: list[Token], catalog: Catalog) -> list[Mention]:
    """Model kinds named by their checkpoint name, its family ("roberta" for roberta-base and -large:
    one mention per kind, at the same place), or a lexicon family or phrase ("neural net", "svm")."""
    out: list[Mention] = []
    covered: set[int] = set()
    for hit in catalog.kind_index.find([t.text for t in tokens]):
        if len(hit.names) > 1 and not _whole_family(tokens, hit.start, hit.end):
            # "the best resnet run" with resnet18 and resnet50: which one? (the composer asks)
            out.append(Mention("model", hit.names[0], hit.start, hit.end, float(hit.level), alternatives=hit.names[1:]))
        else:
            out += [Mention("model", kind, hit.start, hit.end, float(hit.level)) for kind in hit.names]
        covered.update(range(hit.start, hit.end + 1))
    lex = lexicon()
    said: dict[str, tuple[int, int]] = {}
    for tok in tokens:
        if tok.pos not in covered:
            said.setdefault(tok.text, (tok.pos, tok.pos))
            said.setdefault(tok.canon, (tok.pos, tok.pos))
    joined = " ".join(t.text for t in tokens)
    for pattern, real in [(re.compile(rf"\b{re.escape(slip)}s?\b"), real) for slip, real in lex.heard_as.items()] + \
            list(lex.model_phrases):
        m = pattern.search(joined)
        if m:
            first = _position(tokens, m.start())
            said.setdefault(real, (first, first + len(m.group(0).split()) - 1))
    # multi-word kinds ("random forest") as joined tokens
    for i in range(len(tokens) - 1):
        for n in (2, 3):
            if i + n <= len(tokens) and not covered & set(range(i, i + n)):
                span = (tokens[i].pos, tokens[i + n - 1].pos)
                said.setdefault("_".join(t.canon for t in tokens[i:i + n]), span)
                said.setdefault("_".join(t.text for t in tokens[i:i + n]), span)
    found = {m.name for m in out}
    for kind in catalog.kind_names:
        if kind in found:
            continue
        spans = [said[a] for a in model_aliases(kind) if a in said]
        if spans:
            first = min(s[0] for s in spans)
            end = max(s[1] for s in spans if s[0] == first)    # the longest words said there
            out.append(Mention("model", kind, first, end, ALIAS_SCORE))
    return sorted(out, key=lambda m: m.start)


ALIAS_SCORE = 2.5     # a model named by a lexicon alias or phrase: stronger than one part of a name (1)
_FAMILY_BEFORE = {"all", "any", "every", "both", "each"}
_FAMILY_AFTER = {"family", "families", "models", "variants", "sizes", "checkpoints", "kinds", "types"}


def _whole_family(tokens: list[Token], start: int, end: int) -> bool:
    """Whether a family word means all its members: said in the plural ("resnets"), after "all",
    "any", "every", or before "family", "models", "variants"."""
    before = {t.text for t in tokens[max(0, start - 2):start]}
    after = tokens[end + 1].text if end + 1 < len(tokens) else ""
    plural = tokens[end].text.endswith("s") and not tokens[end].text.endswith("ss")
    return plural or bool(before & _FAMILY_BEFORE) or after in _FAMILY_AFTER


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
