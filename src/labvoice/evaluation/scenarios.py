"""Scenario files for `scripts/evaluate.py`: YAML (a `scenarios:` list) or JSONL (one object a line).

A scenario is a question, its kind (the report groups by kind) and what a right answer is, either
concrete (`expected_run_ids`, `expected_mentions`, `expect_no_runs`) or, in YAML, as a query over
the DB (`expect:`) that `expect.py` resolves with its own SQL: a demo DB is built by real training,
so its run ids are random per build and a shipped file cannot name them. Mentions may use the
resolved values as `{id}`, `{count}`, `{value}`, `{param_value}` (see `expect.Expected.values`).

A question may be generated, so a file can hold a 5,000-character input:
`question: {repeat: "Which run is best? ", chars: 5000}`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

ALLOWED_KEYS = frozenset({"id", "kind", "question", "expect", "expected_run_ids", "ordered",
                          "expected_mentions", "mentions", "expect_no_runs", "bad_input"})
# Kinds whose inputs are malformed on purpose (issue 6): scored for "sensible and harmless", and
# the voice mode cannot speak an empty or very long question.
BAD_INPUT_KINDS = frozenset({"empty", "long_input", "other_language", "injection"})
MAX_GENERATED_CHARS = 100_000


class ScenarioError(ValueError):
    """A scenario file cannot be used; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class Scenario:
    id: str
    kind: str
    question: str
    expect: Mapping[str, Any] | None = None          # a query over the DB (YAML)
    expected_run_ids: tuple[str, ...] | None = None  # concrete (JSONL, or YAML for a fixed DB)
    ordered: bool = False                            # with expected_run_ids: order matters
    mentions: tuple[str, ...] = ()
    expect_no_runs: bool = False
    bad_input: bool = False


def _question(raw: Any, where: str) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping) and "repeat" in raw:
        text, chars = str(raw["repeat"]), int(raw.get("chars", 0))
        if not text or not 0 < chars <= MAX_GENERATED_CHARS:
            raise ScenarioError(f"{where}: question.repeat needs a text and 0 < chars <= {MAX_GENERATED_CHARS}")
        return (text * (chars // len(text) + 1))[:chars]
    raise ScenarioError(f"{where}: question must be a string or {{repeat: TEXT, chars: N}}")


def _scenario(entry: Any, where: str, index: int) -> Scenario:
    if not isinstance(entry, Mapping):
        raise ScenarioError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - ALLOWED_KEYS)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    if "question" not in entry:
        raise ScenarioError(f"{where}: missing key 'question'")
    kind = str(entry.get("kind") or "unspecified")
    expect = entry.get("expect")
    if expect is not None and not isinstance(expect, Mapping):
        raise ScenarioError(f"{where}: expect must be a mapping such as {{best: {{metric: val_accuracy}}}}")
    ids = entry.get("expected_run_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ScenarioError(f"{where}: expected_run_ids must be a list of run id strings")
    if expect is not None and ids is not None:
        raise ScenarioError(f"{where}: give either expect (a query) or expected_run_ids, not both")
    mentions = entry.get("expected_mentions", entry.get("mentions")) or []
    if not isinstance(mentions, list):
        raise ScenarioError(f"{where}: expected_mentions must be a list of strings")
    return Scenario(
        id=str(entry.get("id") or f"{kind}-{index + 1}"),
        kind=kind,
        question=_question(entry.get("question"), where),
        expect=dict(expect) if expect is not None else None,
        expected_run_ids=tuple(ids) if ids is not None else None,
        ordered=bool(entry.get("ordered", False)),
        mentions=tuple(str(m) for m in mentions),
        expect_no_runs=bool(entry.get("expect_no_runs", False)),
        bad_input=bool(entry.get("bad_input", kind in BAD_INPUT_KINDS)),
    )


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every scenario in a .yaml/.yml or .jsonl file; raises ScenarioError with one clear line."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file {path} not found")
    text = path.read_text(encoding="utf-8")
    entries: list[tuple[Any, str]] = []
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    entries.append((json.loads(line), f"{path}:{number}"))
                except json.JSONDecodeError as err:
                    raise ScenarioError(f"{path}:{number}: not valid JSON ({err.msg})") from None
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ScenarioError(f"{path}: not valid YAML ({err})") from None
        items = data.get("scenarios") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise ScenarioError(f"{path}: expected a top-level `scenarios:` list")
        entries = [(item, f"{path}: scenario {i + 1}") for i, item in enumerate(items)]
    else:
        raise ScenarioError(f"{path}: unknown scenario format; use .yaml or .jsonl")
    scenarios = [_scenario(entry, where, i) for i, (entry, where) in enumerate(entries)]
    if not scenarios:
        raise ScenarioError(f"{path}: no scenarios")
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.id in seen:
            raise ScenarioError(f"{path}: duplicate scenario id {scenario.id!r}")
        seen.add(scenario.id)
    return scenarios
