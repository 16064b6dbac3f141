"""Dataset and model names as people say them, learnt from the DB's own names: each name is split into
words (`glue/sst2` -> glue, sst, 2; `roberta-large` -> roberta, large; `resnet50` -> resnet, 50), and a
question's words are matched against three forms of it:

- the whole name ("bert base uncased", "bertbaseuncased", "glue sst2");
- its specific part: the name without a namespace (`glue/`) and without checkpoint size or variant
  words from the lexicon ("sst2", "squad v2", "resnet 50", "gpt 2");
- its family: the specific part without digits ("resnet", "gpt", "cifar"), which may name several;
- one distinctive part of a longer name ("moons" for `make_moons`, "parkinsons" for
  `parkinsons_telemonitoring`), when no other name has it.
Tool words around a name (`make_`, `Classifier`) are left out of the specific part (lexicon).

`NameIndex.find()` returns, per place in the question, the names that fit best there and how well.
Several names at one place are a family ("the roberta runs": both checkpoints) or an ambiguity the
composer asks back about ("cifar": cifar10 or cifar100?).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labvoice.knowledge.lexicon import lexicon, name_parts

MAX_SPAN_WORDS = 4
EXACT, SPECIFIC, FAMILY, PART = 4, 3, 2, 1
MIN_PREFIX_CHARS = 5       # "regnet" for regnety, "mobilenet" for mobilenetv3: a family said without its last letters
MAX_PREFIX_REST = 2
MIN_FAMILY_CHARS = 3
MIN_PART_CHARS = 3


@dataclass(frozen=True)
class NameForms:
    name: str
    full: str                  # every word joined, no separators: "bertbaseuncased"
    specific: str              # without namespace and size words: "bert", "resnet50", "sst2"
    family: str                # the specific part without digits: "resnet", "sst"
    sizes: frozenset[str]      # size/variant words of the name: {"base", "uncased"}


@dataclass(frozen=True)
class NameHit:
    start: int                 # first token of the span
    end: int                   # last token of the span
    names: tuple[str, ...]     # every name that fits here, best first
    level: int                 # EXACT, SPECIFIC or FAMILY


def forms(name: str) -> NameForms:
    lex = lexicon()
    tail = re.split(r"[/:]", name)[-1] or name
    parts = name_parts(name)
    tail_parts = name_parts(tail)
    sizes = frozenset(p for p in tail_parts if p in lex.size_words)
    specific_parts = [p for p in tail_parts if p not in lex.size_words] or tail_parts
    while len(specific_parts) > 1 and specific_parts[0] in lex.name_prefixes:
        specific_parts = specific_parts[1:]                      # make_moons -> moons
    while len(specific_parts) > 1 and specific_parts[-1] in lex.kind_suffixes:
        specific_parts = specific_parts[:-1]                     # DecisionTreeClassifier -> decision tree
    family_parts = [p for i, p in enumerate(specific_parts)
                    if not p.isdigit() and not re.fullmatch(r"v\d+", p)
                    and not (len(p) == 1 and i and specific_parts[i - 1].isdigit())]   # imagenet-1k, resnet50
    return NameForms(name, "".join(parts), "".join(specific_parts), "".join(family_parts), sizes)


def _without_trailing_number(f: NameForms) -> str:
    """The specific part without a last number that follows a size word (`mobilenetv3_large_100` ->
    mobilenetv3), or ""."""
    lex = lexicon()
    parts = name_parts(re.split(r"[/:]", f.name)[-1] or f.name)
    if len(parts) >= 3 and parts[-1].isdigit() and parts[-2] in lex.size_words:
        return "".join(p for p in parts[:-1] if p not in lex.size_words)
    return ""


class NameIndex:
    """Forms of one kind of name (datasets or model kinds) of one DB, matched against question words."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.forms = tuple(forms(n) for n in names)
        self._by_full: dict[str, list[NameForms]] = {}
        self._by_specific: dict[str, list[NameForms]] = {}
        self._by_family: dict[str, list[NameForms]] = {}
        self._by_part: dict[str, list[NameForms]] = {}
        generic = lexicon().generic_parts | lexicon().size_words | lexicon().kind_suffixes | lexicon().filler
        for f in self.forms:
            self._by_full.setdefault(f.full, []).append(f)
            tail = "".join(name_parts(re.split(r"[/:]", f.name)[-1] or f.name))
            if tail != f.full:
                self._by_full.setdefault(tail, []).append(f)          # without the namespace: deberta-v3-base
            self._by_specific.setdefault(f.specific, []).append(f)
            for key in {_without_trailing_number(f)} - {f.specific, ""}:    # mobilenetv3_large_100 -> mobilenetv3
                self._by_specific.setdefault(key, []).append(f)
            if len(f.family) >= MIN_FAMILY_CHARS:
                self._by_family.setdefault(f.family, []).append(f)
            for part in set(name_parts(f.name)):
                if len(part) >= MIN_PART_CHARS and part not in generic and not part.isdigit():
                    self._by_part.setdefault(part, []).append(f)
        self._by_part = {k: v for k, v in self._by_part.items() if len(v) == 1}

    def _lookup(self, compact: str) -> tuple[int, list[NameForms]]:
        for level, table in ((EXACT, self._by_full), (SPECIFIC, self._by_specific), (FAMILY, self._by_family),
                             (PART, self._by_part)):
            hit = table.get(compact)
            if hit is None and compact.endswith("s") and len(compact) >= 4:
                hit = table.get(compact[:-1])       # "the resnets", "berts"
            if hit:
                return level, hit
            if level == FAMILY and len(compact) >= MIN_PREFIX_CHARS:
                near = [f for family, fs in self._by_family.items() for f in fs
                        if family.startswith(compact) and len(family) - len(compact) <= MAX_PREFIX_REST]
                if near:
                    return FAMILY, near
        return 0, []

    def find(self, words: list[str]) -> list[NameHit]:
        """Non-overlapping hits, longest and best first; size words said next to a specific or family
        hit narrow it ("roberta large", "the large roberta")."""
        taken: set[int] = set()
        hits: list[NameHit] = []
        candidates = []
        for n in range(MAX_SPAN_WORDS, 0, -1):
            for i in range(len(words) - n + 1):
                compact = "".join(words[i:i + n])
                if not compact or not re.search(r"[a-z]", compact):
                    continue
                level, found = self._lookup(compact)
                if found:
                    candidates.append((-(level * 10 + n), i, i + n - 1, level, found))
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, start, end, level, found in candidates:
            if any(p in taken for p in range(start, end + 1)):
                continue
            near = set(words[max(0, start - 3):start]) | set(words[end + 1:end + 4])
            said_sizes = near & {s for f in found for s in f.sizes}
            narrowed = [f for f in found if said_sizes <= f.sizes] if level < EXACT and len(found) > 1 and \
                said_sizes else []
            if narrowed:
                found = narrowed
                for j in list(range(max(0, start - 2), start)) + list(range(end + 1, min(len(words), end + 3))):
                    if words[j] in {s for f in found for s in f.sizes}:
                        start, end = min(start, j), max(end, j)
            if any(p in taken for p in range(start, end + 1)):
                continue
            taken.update(range(start, end + 1))
            hits.append(NameHit(start, end, tuple(f.name for f in found), level))
        merged: list[NameHit] = []
        for hit in sorted(hits, key=lambda h: h.start):   # "oxford pets": two parts of one name are one hit
            if merged and merged[-1].names == hit.names and merged[-1].end + 1 == hit.start:
                last = merged.pop()
                hit = NameHit(last.start, hit.end, hit.names, max(last.level, hit.level))
            merged.append(hit)
        return merged

    def with_size(self, names: tuple[str, ...], said: str) -> tuple[str, ...]:
        """Of `names`, those whose size words include a word of `said` ("the large one")."""
        words = set(re.findall(r"[a-z0-9]+", said.lower()))
        by_name = {f.name: f for f in self.forms}
        return tuple(n for n in names if n in by_name and by_name[n].sizes & words)
