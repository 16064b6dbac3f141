"""The parser must not be tuned to the lab suite (issue 17): no shape exemplar, no cue pattern or other string
literal of the knowledge package, and no lexicon entry copies the wording of a suite or held-out question
(no shared run of 6 words after lowercasing; no exemplar equal to a question with its names masked), and
no dataset, model, metric or parameter name of the six lab DBs appears in the package's code (string
literals and identifiers of src/labvoice/knowledge/**/*.py): the parser learns names from each DB.

Left out of the name check: the keys the importers and the store read by contract (`model`, `dataset`, ...)
and metric or parameter names that are one plain word (`loss`, `accuracy`, `epochs`): those are ML
vocabulary, which a curated lexicon may hold; and the embedding modules (EMBEDDING_MODULES). Dataset and model names are checked whatever they look like.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from labvoice.config import PROJECT_ROOT
from labvoice.evaluation.lab_dbs import CONVENTIONS, model_of
from labvoice.evaluation.lab_heldout import lab_heldout
from labvoice.evaluation.lab_heldout_fresh import lab_heldout_fresh
from labvoice.evaluation.lab_said import SAID
from labvoice.evaluation.lab_suite import lab_suite
from labvoice.evaluation.query_truth import read_truth_rows

KNOWLEDGE = PROJECT_ROOT / "src" / "labvoice" / "knowledge"
RUN = 6
MIN_NAME = 4
CONTRACT_KEYS = {"model", "dataset", "dataset_name", "dataset_id", "model_name", "run_name", "tags", "note", "run"}
# The embedding machinery's own settings share names with a Trainer's (batch_size, max_seq_length); it never
# reads a question's names, so it is left out of the name check (not of the wording check).
EMBEDDING_MODULES = {"embedder.py", "onnx_embedder.py", "index.py"}
STAND_INS = {"metric": "accuracy", "param": "learning rate", "dataset": "wine", "model": "MLP"}


def _words(text: str) -> list[str]:
    text = re.sub(r"\\[a-zA-Z]", " ", text.lower()).replace("'", "").replace("\u2019", "")
    return re.findall(r"[a-z0-9]+", text)


def _runs(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _code() -> dict[Path, ast.AST]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(KNOWLEDGE.rglob("*.py"))}


def _literals(tree: ast.AST) -> list[str]:
    """Every string literal but docstrings (cue patterns, exemplars, alias tables, messages)."""
    docs = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def _identifiers(tree: ast.AST) -> list[str]:
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            out.append(n.id)
        elif isinstance(n, ast.Attribute):
            out.append(n.attr)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(n.name)
        elif isinstance(n, ast.arg):
            out.append(n.arg)
        elif isinstance(n, ast.keyword) and n.arg:
            out.append(n.arg)
    return out


def _data_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _data_strings(k) + _data_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _data_strings(v)]
    return []


def _lexicon_entries() -> list[str]:
    entries = []
    for path in sorted(KNOWLEDGE.rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            entries += _data_strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        elif path.suffix == ".json":
            entries += _data_strings(json.loads(path.read_text(encoding="utf-8")))
    return entries


@pytest.fixture(scope="module")
def questions(lab_dbs) -> list:
    dbs = {name: db.path for name, db in lab_dbs.items()}
    return lab_suite(dbs) + lab_heldout(dbs) + lab_heldout_fresh(dbs)


def _masked(question) -> str:
    said = SAID[question.db]
    phrases: list[tuple[str, str]] = []
    for kind, table in (("dataset", said.datasets), ("model", said.models), ("param", said.params),
                        ("metric", {**said.metrics, said.loss: said.loss_said, CONVENTIONS[question.db].metric: said.metric_said})):
        for name, spoken in table.items():
            phrases += [(name, kind)] + [(s, kind) for s in spoken]
    phrases += [(family, "model") for family in said.families]
    text = question.question
    for phrase, kind in sorted(phrases, key=lambda p: -len(p[0])):
        text = re.sub(rf"(?<![\w/-]){re.escape(phrase)}(?![\w/-])", STAND_INS[kind], text, flags=re.IGNORECASE)
    text = re.sub(r"\b\d[\d.,]*(e-?\d+)?%?", "5", text)
    return " ".join(_words(text))


def test_exemplars_cues_and_lexicon_copy_no_question_wording(questions):
    from labvoice.knowledge.query.shapes import EXEMPLARS

    asked = {}
    for q in questions:
        for run in _runs(q.question):
            asked.setdefault(run, q.question)
    masked = {_masked(q): q.question for q in questions}
    exemplars = [text for items in EXEMPLARS.values() for text in items]
    copied = [f"exemplar {e!r} is the masked question {masked[' '.join(_words(e))]!r}"
              for e in exemplars if " ".join(_words(e)) in masked]
    sources = [("exemplar", e) for e in exemplars] + [("lexicon entry", s) for s in _lexicon_entries()]
    sources += [(f"literal in {path.relative_to(KNOWLEDGE)}", s) for path, tree in _code().items() for s in _literals(tree)]
    for where, text in sources:
        shared = _runs(text) & asked.keys()
        if shared:
            run = sorted(shared)[0]
            copied.append(f"{where} {text[:80]!r} shares {' '.join(run)!r} with {asked[run]!r}")
    assert not copied, "\n".join(sorted(set(copied)))


def _db_names(lab_dbs) -> set[str]:
    names: set[str] = set()
    for name, db in lab_dbs.items():
        conv = CONVENTIONS[name]
        for row in read_truth_rows(db.path):
            names.add(row.dataset)
            names.add(model_of(row, conv))
            keys = set(row.metrics) | set(row.params)
            names |= {k for k in keys if k not in CONTRACT_KEYS and not re.fullmatch(r"[A-Za-z]+", k)}
    return {n for n in names if len(n) >= MIN_NAME}


def test_no_lab_db_name_in_the_knowledge_code(lab_dbs):
    names = _db_names(lab_dbs)
    assert {"eval_accuracy", "bert-base-uncased", "glue/sst2", "val_loss_epoch", "optimizer.lr", "imdb"} <= names
    found = []
    for path, tree in _code().items():
        if path.name in EMBEDDING_MODULES and path.parent == KNOWLEDGE:
            continue
        texts = [(s, "literal") for s in _literals(tree)] + [(s, "identifier") for s in _identifiers(tree)]
        for text, what in texts:
            lowered = text.lower()
            for name in names:
                if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", lowered):
                    found.append(f"{path.relative_to(KNOWLEDGE)}: {name!r} in {what} {text[:60]!r}")
    assert not found, "\n".join(sorted(set(found)))
