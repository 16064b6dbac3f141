"""Mentions of the DB's own names in a question: metrics and parameters by their tokens, datasets and
model kinds by their whole name, specific part, family or one distinctive part (names.py), lexicon
aliases of model families, and string parameter values; each with where it was said and the other
names that fit the same words just as well.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labvoice.knowledge.lexicon import lexicon, name_tokens
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.tokens import SPLIT_PREFERENCE, SPLITS, Token
from labvoice.knowledge.vocab import model_aliases

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
