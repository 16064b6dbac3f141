"""Names heard as names: a spoken transcript's sound-alike spans rewritten to the DB name they stand for,
before the question is parsed (issue 19). Whisper tiny.en writes "robber to large" for roberta-large,
"yelpolarity" for yelp_polarity, "malidation accuracy" for a validation accuracy; the parser, matching by
spelling, then finds another name or none.

Each name of the DB (datasets, model kinds, metrics, parameters) gets its spoken forms ("roberta large",
"sst 2", "validation accuracy"; a metric's parts each said as written or in words, "validation nll"; the
leading or trailing words of a long name, "electra", "batch size" of data.batch_size), kept only where the
parser binds that form to exactly that name ("roberta" is kept only where one checkpoint is a roberta). A span
of up to MAX_SPAN_WORDS words of the transcript is compared with each form by spelling (edit distance of
the compacted letters and digits) and by sound (edit distance of Metaphone codes, `jellyfish`): the better
of the two, or their mean where a code is short (sound alone calls "values" a val loss); the span is
rewritten to the form only when

- none of its words already binds to a DB name (the parser's own extractor says so),
- it is close enough (MIN_SIMILARITY), clearly closer than any form of another name (MIN_MARGIN), and
- its digits, where both say any, agree (cifar 10 is never cifar 100),
- where Whisper's per-word probabilities are given, at least one word of it was unsure (MAX_SURE).

Typed questions never come here: only the voice path (pipeline/stages.py) links what it heard.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import jellyfish

from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.extract import extract
from labvoice.knowledge.query.names import PART as PART_LEVEL
from labvoice.knowledge.query.numbers import words_to_numbers
from labvoice.knowledge.query.wording import dataset_words, kind_words, metric_words, param_words, word_variants

MAX_SPAN_WORDS = 4
MIN_SIMILARITY = 0.8         # on the hearing rig, 0.78 and below linked "values" to val loss (docs/hearing.md)
MIN_MARGIN = 0.15            # over the best form of any other name; at 0.1 a prompt leak "dit-base-uncased" became bert
MIN_SOUND_CODE = 4           # a shorter Metaphone code (FLS: "values", "flows", val loss) says too little alone
MIN_FORM_CHARS = 4           # shorter forms ("c", "lr") have too many sound-alikes
MAX_SURE = 0.9               # a word Whisper gave this probability or more is not rewritten
# Words that never start or end a rewritten span on their own: the question's own glue, and the pronouns
# (a name is never one, and a span ending on one sounds like a name too often: "tell me" ~ a dataset "tellme").
GLUE = frozenset("""a an and are at by did do does for from gave give had has have how in is it many my of on
or per run runs the there to use used was were what which with
i me we us you he him she her they them its our your their this that these those""".split())
_SPLIT_VERSION = re.compile(r"\b([vV]) ([0-9]+)\b")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_CACHE: dict[int, tuple[Catalog, tuple["Sayable", ...]]] = {}
_CACHE_SIZE = 8
_COMPOSERS: dict[int, tuple[Catalog, object]] = {}    # the rule parser per catalog (its columns are built once)


@dataclass(frozen=True)
class Sayable:
    """One spoken form of one DB name: `said` is what is written in its place ("roberta large")."""

    kind: str            # dataset | model | metric | param
    name: str            # the DB's name
    said: str
    compact: str         # letters and digits of `said`, joined
    sound: str           # Metaphone code of its letters, then its digits


@dataclass(frozen=True)
class Rewrite:
    heard: str           # the words as Whisper wrote them
    said: str            # what replaced them
    name: str
    kind: str
    similarity: float
    margin: float


@dataclass(frozen=True)
class Linked:
    """A transcript after linking: `text` (parse this) and the rewrites made (empty: `text` is what was heard)."""

    heard: str
    text: str
    rewrites: tuple[Rewrite, ...] = ()


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", words_to_numbers(text.lower()))


def _sound(compact: str) -> str:
    letters = re.sub(r"[0-9]+", "", compact)
    return (jellyfish.metaphone(letters) if letters else "") + re.sub(r"[^0-9]+", "", compact)


def _digits(compact: str) -> str:
    return re.sub(r"[^0-9]+", "", compact)


def _spaced(name: str) -> str:
    """Letters and digits apart ("sst2" -> "sst 2"), lower case, single spaces."""
    text = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", name.lower())
    return re.sub(r"[^a-z0-9.]+", " ", text).strip()


def _mentioned(text: str, catalog: Catalog) -> dict[str, list]:
    slots = extract(text, catalog)
    return {"dataset": slots.datasets, "model": slots.models, "metric": slots.metrics, "param": slots.params}


def _forms(kind: str, name: str) -> set[str]:
    tail = _tail(name)
    if kind == "dataset":
        found = {dataset_words(name), dataset_words(tail)}
    elif kind == "model":
        found = {kind_words(name), kind_words(tail)}
    elif kind == "metric":
        found = {metric_words(name), metric_words(tail)}
    else:
        found = {param_words(name), param_words(tail)}
    if kind in ("metric", "param"):
        found |= word_variants(tail)
    found = {_spaced(f) for f in found | {tail, _hint(name)} if f}
    # a checkpoint's last number after a size word often goes unsaid: "mobilenet v3 large" (100)
    found |= {f.rsplit(" ", 1)[0] for f in found if len(f.split()) >= 3 and f.split()[-1].isdigit()}
    # people say a part of a long name ("the best electra run", "batch size" for data.batch_size): its
    # leading and trailing words; `sayables` keeps a part only where the parser binds it to this name alone
    parts = set()
    for form in found:
        words = form.split()
        parts.update(" ".join(words[:k]) for k in range(1, len(words)))
        parts.update(" ".join(words[k:]) for k in range(1, len(words)))
    return found | {part for part in parts if part.split()[0] not in GLUE and part.split()[-1] not in GLUE}


def sayables(catalog: Catalog) -> tuple[Sayable, ...]:
    """Every spoken form of the DB's names that the parser binds to exactly that name (cached per catalog)."""
    return _per_catalog(_CACHE, catalog, _sayables)


def _per_catalog(cache: dict, catalog: Catalog, build):
    """`build(catalog)`, kept in `cache` for the last _CACHE_SIZE catalogs (a catalog is rebuilt when its DB
    changes, so the object itself is the key's check)."""
    cached = cache.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cached = cache[id(catalog)] = (catalog, build(catalog))
    return cached[1]


def _sayables(catalog: Catalog) -> tuple[Sayable, ...]:
    out: list[Sayable] = []
    names = [("dataset", n) for n in catalog.dataset_names] + [("model", n) for n in catalog.kind_names] + \
        [("metric", n) for n in catalog.metric_names] + [("param", n) for n in catalog.param_names]
    for kind, name in names:
        for said in sorted(_forms(kind, name)):
            compact = _compact(said)
            if len(compact) < MIN_FORM_CHARS:
                continue
            found = _mentioned(said, catalog)[kind]
            if len(found) == 1 and found[0].name == name and not found[0].alternatives:
                out.append(Sayable(kind, name, said, compact, _sound(compact)))
    return tuple(out)


def hint_names(catalog: Catalog) -> tuple[str, ...]:
    """The dataset and model names as a speaker says them, for Whisper's prompt: without a namespace, words
    apart, a lower-case name's number apart from its letters ("sst 2", "roberta large", "mobilenet v3 large
    100", "imagenet 1k"); a name with capitals keeps its spelling ("EfficientNetB0")."""
    return tuple(dict.fromkeys(_hint(name) for name in catalog.dataset_names + catalog.kind_names))


def hint_words(catalog: Catalog) -> tuple[str, ...]:
    """Whisper's prompt words, most important first: `hint_names`, then the metric and parameter names as
    they are said ("validation top 1 accuracy", "optimizer learning rate"). Plain words of a question are
    misheard as often as names on unfamiliar voices ("main" for mean, "mitigation" for validation); with
    the metric words in the prompt the rig's spoken answers equal to typed went from 0.31 to 0.39
    (docs/hearing.md). The transcriber drops words from the end when the prompt is too long."""
    said = [metric_words(_tail(n)) for n in catalog.metric_names] + [param_words(_tail(n)) for n in catalog.param_names]
    return tuple(dict.fromkeys(list(hint_names(catalog)) + [w.lower() for w in said if w]))


def choose(readings: Sequence[str], catalog: Catalog) -> Linked:
    """Of several readings of one utterance (the decoder's best first), the one that, linked, names the most
    of the DB's datasets, models, metrics and parameters. The beam's other readings differ by a word or two,
    and the one that names what the DB has is usually the one said (hearing rig: 0.49 -> 0.53 spoken answers
    equal to typed, docs/hearing.md). Of readings naming as many, the one the parser (rules only) makes a query
    of, then the one with fewer words it cannot use (a stray word from a mishearing), then the decoder's order
    (on cached readings: rig 0.573 -> 0.613, held-out check 1 0.468 -> 0.486, docs/hearing.md)."""
    scored = []
    for order, reading in enumerate(readings):
        linked = link(reading, catalog)
        scored.append((sum(len(found) for found in _mentioned(linked.text, catalog).values()), -order, linked))
    if not scored:
        return Linked("", "")
    most = max(named for named, _, _ in scored)
    tied = [(order, linked) for named, order, linked in scored if named == most]
    if len(tied) == 1:
        return tied[0][1]
    return max(tied, key=lambda item: (*_parser_fit(item[1].text, catalog), item[0]))[1]


def _parser_fit(text: str, catalog: Catalog) -> tuple[bool, int]:
    """(whether the rule parser makes a query of `text`, minus the number of its words that bind nothing)."""
    from labvoice.knowledge.query.compose import Composer
    from labvoice.knowledge.query.model import SmallTalk, Unsupported

    outcome = _per_catalog(_COMPOSERS, catalog, Composer).parse(text)
    return not isinstance(outcome.parsed, (Unsupported, SmallTalk)), -len(outcome.unbound)


def _tail(name: str) -> str:
    """A name without its namespace ("microsoft/deberta-v3-large" -> "deberta-v3-large")."""
    return re.split(r"[/:]", name)[-1] or name


def _hint(name: str) -> str:
    text = re.sub(r"[_\-.\s]+", " ", _tail(name)).strip()
    return re.sub(r"(?<=[a-z]{3})(?<!v)(?=v?[0-9])", " ", text)


def _similarity(a: str, b: str) -> float:
    spelling = 1.0 - jellyfish.levenshtein_distance(a, b) / max(len(a), len(b))
    sa, sb = _sound(a), _sound(b)
    sound = 1.0 - jellyfish.levenshtein_distance(sa, sb) / max(len(sa), len(sb), 1)
    if min(len(sa), len(sb)) >= MIN_SOUND_CODE:
        return max(spelling, sound)
    return (spelling + sound) / 2 if sa and sb else spelling


def _bound_words(text: str, catalog: Catalog) -> set[str]:
    """Words of `text` inside a mention of a DB name (as the parser tokenises them)."""
    slots = extract(text, catalog)
    bound: set[str] = set()
    # one distinctive part of a longer name ("efficient" of EfficientNetB0) is too weak to keep the words
    names = [m for m in slots.datasets + slots.models if m.score > PART_LEVEL]
    for mention in names + slots.metrics + slots.params:
        for token in slots.tokens[mention.start:mention.end + 1]:
            bound.update(_WORD.findall(token.text))
    return bound


def link(heard: str, catalog: Catalog, word_probabilities: Mapping[str, float] | None = None) -> Linked:
    """`heard` with sound-alike spans rewritten to the spoken form of the DB name they stand for (see the
    module docstring). `word_probabilities` (lower-case word -> Whisper's probability), when given, limits
    rewrites to spans with an unsure word."""
    heard = _SPLIT_VERSION.sub(r"\1\2", heard)        # "v 3" -> "v3", as names write a version
    lowered = heard.lower()
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(lowered)]
    forms = sayables(catalog)
    if not words or not forms:
        return Linked(heard, heard)
    bound = _bound_words(heard, catalog)
    candidates = []
    for n in range(MAX_SPAN_WORDS, 0, -1):
        for i in range(len(words) - n + 1):
            span = [w for w, _, _ in words[i:i + n]]
            if span[0] in GLUE or span[-1] in GLUE or any(w in bound for w in span):
                continue
            if word_probabilities is not None and all(word_probabilities.get(w, 0.0) >= MAX_SURE for w in span):
                continue
            compact = _compact(" ".join(span))
            if len(compact) < MIN_FORM_CHARS:
                continue
            best = _best(compact, forms)
            if best is not None:
                candidates.append((best[1], n, i, best))
    rewrites: list[tuple[int, int, Rewrite]] = []
    taken: set[int] = set()
    for _, n, i, (form, similarity, margin) in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
        if taken & set(range(i, i + n)):
            continue
        taken.update(range(i, i + n))
        start, end = words[i][1], words[i + n - 1][2]
        rewrites.append((start, end, Rewrite(heard[start:end], form.said, form.name, form.kind,
                                             round(similarity, 3), round(margin, 3))))
    text = heard
    for start, end, rewrite in sorted(rewrites, key=lambda r: -r[0]):
        text = text[:start] + rewrite.said + text[end:]
    return Linked(heard, text, tuple(r for _, _, r in sorted(rewrites, key=lambda r: r[0])))


def _best(compact: str, forms: tuple[Sayable, ...]) -> tuple[Sayable, float, float] | None:
    """The closest form to `compact`, its similarity and its margin over the closest form of another
    name; None when it is not close enough or not clearly the one."""
    digits = _digits(compact)
    scored: dict[str, tuple[float, Sayable]] = {}
    for form in forms:
        if abs(len(form.compact) - len(compact)) > max(3, len(form.compact) // 3):
            continue
        form_digits = _digits(form.compact)
        if digits and form_digits and digits != form_digits:
            continue
        similarity = _similarity(compact, form.compact)
        key = f"{form.kind}:{form.name}"
        if key not in scored or similarity > scored[key][0]:
            scored[key] = (similarity, form)
    if not scored:
        return None
    ranked = sorted(scored.values(), key=lambda s: -s[0])
    similarity, form = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if similarity < MIN_SIMILARITY or similarity - runner_up < MIN_MARGIN or compact == form.compact:
        return None
    return form, similarity, similarity - runner_up
