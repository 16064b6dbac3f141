"""The ML vocabulary as data: `lexicon.yaml` beside this file (abbreviations, splits, qualifiers, which
metric words are minimised, time units, size words of checkpoints, model families, filler words), read
once into a frozen `Lexicon`. Everything the parser knows about words before it sees a DB lives there;
the DB's own names are split with `name_parts` and understood through it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

LEXICON_FILE = Path(__file__).with_name("lexicon.yaml")


@dataclass(frozen=True)
class TimeUnit:
    name: str
    said: frozenset[str]
    seconds: float


@dataclass(frozen=True)
class Lexicon:
    canonical: dict[str, str]
    phrases: tuple[tuple[re.Pattern, str], ...]
    qualifiers: frozenset[str]
    metric_qualifiers: frozenset[str]
    minor_qualifiers: frozenset[str]
    tool_prefixes: frozenset[str]
    splits: tuple[str, ...]
    lower_better: frozenset[str]
    higher_better: frozenset[str]
    percent_words: frozenset[str]
    headline_heads: tuple[str, ...]
    time_units: tuple[TimeUnit, ...]
    default_time_unit: str
    time_words: frozenset[str]
    speed_words: dict[str, bool]            # word -> ranks descending
    size_words: frozenset[str]
    name_prefixes: frozenset[str]
    kind_suffixes: frozenset[str]
    generic_parts: frozenset[str]
    families: tuple[frozenset[str], ...]
    model_phrases: tuple[tuple[re.Pattern, str], ...]
    heard_as: dict[str, str]
    filler: frozenset[str]
    spoken_words: dict[str, str]
    acronyms: frozenset[str]
    respell_words: tuple[str, ...]         # query words an unsure transcript may be read as (stt/whisper_beam.py)

    def canon(self, word: str) -> str:
        """One word's canonical token: lower case, plural dropped, abbreviation expanded."""
        word = word.lower()
        if word in self.canonical:
            return self.canonical[word]
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        return self.canonical.get(word, word)

    def unit_said(self, word: str) -> TimeUnit | None:
        word = word.lower()
        return next((u for u in self.time_units if word in u.said), None)

    def unit(self, name: str) -> TimeUnit:
        return next(u for u in self.time_units if u.name == name)

    def direction(self, metric: str) -> tuple[bool, bool]:
        """(lower is better, known): from the metric name's parts; unknown names are taken as higher
        is better and `known` is False so the answer can say it guessed."""
        raw = name_parts(metric)
        parts = set(raw) | {self.canon(p) for p in raw}
        joined = "_".join(raw)
        for words, lower in ((self.lower_better, True), (self.higher_better, False)):
            if parts & words or any("_" in w and w in joined for w in words):
                return lower, True
        return False, False

    def metric_unit(self, metric: str) -> TimeUnit | None:
        """The time unit a metric is stored in (None when it is no time metric): a unit part of its
        name (`epoch_time_min`, `duration_ms`), else the default unit when a part says time."""
        parts = [p.lower() for p in name_parts(metric)]
        timed = any(self.canon(p) == "time" or p in self.time_words for p in parts)
        for part in reversed(parts):
            unit = self.unit_said(part)
            if unit is not None and (timed or len(part) > 3):   # "s", "min", "h" alone name no time metric
                return unit
        return self.unit(self.default_time_unit) if timed else None


def name_parts(name: str) -> list[str]:
    """A DB name's words: split on `_ - / . :` and spaces and on case changes (`valAcc`), letters from
    digits (`resnet50` -> resnet, 50); short letter+digit names (f1, l2, r2, v2) stay whole."""
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name)
    out = []
    for part in re.split(r"[^A-Za-z0-9]+", name.lower()):
        if not part:
            continue
        if re.fullmatch(r"[a-z]{1,2}\d+|top\d+", part):
            out.append(part)
        else:
            out += re.findall(r"[a-z]+|\d+", part)
    return out


MAX_PHRASE_WORDS = 5


def merge_phrases(words: list[str]) -> list[tuple[str, int, int]]:
    """(canonical token, first, last) over `words`: lexicon phrases ("learning rate", "batch size",
    "ran out of memory", "top 1") become one token, every other word its own canonical token."""
    lex = lexicon()
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 1, -1):
            said = " ".join(words[i:i + n])
            repl = next((r for pattern, r in lex.phrases if pattern.fullmatch(said)), None)
            if repl is not None:
                out.append((lex.canon(repl), i, i + n - 1))
                i += n
                break
        else:
            out.append((lex.canon(words[i]), i, i))
            i += 1
    return out


@cache
def name_tokens(name: str) -> tuple[str, ...]:
    """Canonical tokens of a DB name: `init_lr` -> (init, lr), `learning_rate` -> (lr,),
    `per_device_train_batch_size` -> (per, device, train, batch_size); a tool's own prefix goes
    (`param_C` -> (c,))."""
    parts = name_parts(name)
    if len(parts) > 1 and parts[0] in lexicon().tool_prefixes:
        parts = parts[1:]
    return tuple(tok for tok, _, _ in merge_phrases(parts))


def _patterns(pairs) -> tuple[tuple[re.Pattern, str], ...]:
    # a space in a phrase matches any run of spaces, underscores and hyphens ("batch_size", "batch-size")
    gap = r"[\s_-]+"
    return tuple((re.compile(r"\b" + pattern.replace(" ", gap) + r"\b"), repl) for pattern, repl in pairs)


@cache
def lexicon() -> Lexicon:
    """The lexicon shipped beside this module, read once per process."""
    return load_lexicon(LEXICON_FILE)


def load_lexicon(path: Path) -> Lexicon:
    """A lexicon file read and checked: a word YAML reads as something else (a bare on, no, yes is a
    boolean) is refused with the key it is under."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in data.items():     # YAML reads a bare on/no/yes as a boolean: every word must be text
        items = value if isinstance(value, list) else list(value) + list(value.values()) if isinstance(value, dict) else []
        odd = [item for item in items if not isinstance(item, (str, list, dict))]
        if odd:
            raise ValueError(f"{path}: '{key}' has non-text entries {odd}; quote them")
    units = tuple(TimeUnit(name, frozenset(str(s) for s in spec["said"]), float(spec["factor"]))
                  for name, spec in data["time_units"].items())
    return Lexicon(
        canonical={str(k): str(v) for k, v in data["canonical"].items()},
        phrases=_patterns(data["phrases"]),
        qualifiers=frozenset(map(str, data["qualifiers"])),
        metric_qualifiers=frozenset(map(str, data["metric_qualifiers"])),
        minor_qualifiers=frozenset(map(str, data["minor_qualifiers"])),
        tool_prefixes=frozenset(map(str, data["tool_prefixes"])),
        splits=tuple(map(str, data["splits"])),
        lower_better=frozenset(map(str, data["lower_better"])),
        higher_better=frozenset(map(str, data["higher_better"])),
        percent_words=frozenset(map(str, data["percent_words"])),
        headline_heads=tuple(map(str, data["headline_heads"])),
        time_units=units,
        default_time_unit=str(data["default_time_unit"]),
        time_words=frozenset(map(str, data["time_words"])),
        speed_words={str(k): v == "descending" for k, v in data["speed_words"].items()},
        size_words=frozenset(map(str, data["size_words"])),
        name_prefixes=frozenset(map(str, data["name_prefixes"])),
        kind_suffixes=frozenset(map(str, data["kind_suffixes"])),
        generic_parts=frozenset(map(str, data["generic_parts"])),
        families=tuple(frozenset(map(str, f)) for f in data["families"]),
        model_phrases=_patterns(data["model_phrases"]),
        heard_as={str(k): str(v) for k, v in data["heard_as"].items()},
        filler=frozenset(str(w).lower() for w in data["filler"]),
        spoken_words={str(k): str(v) for k, v in data["spoken_words"].items()},
        acronyms=frozenset(map(str, data["acronyms"])),
        respell_words=tuple(map(str, data["respell_words"])),
    )
