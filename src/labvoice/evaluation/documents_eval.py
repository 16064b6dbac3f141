"""Scoring the document questions (documents_suite.py) through the real answerer, per document set.

Each set is its own knowledge folder, indexed with the bundled MiniLM beside a run DB; every question
goes through `GroundedAnswerer.answer` as `ask` would send it. The check is independent of how the
answer was made: a document answer is right when every key fact is in what the window shows and
every number it shows is in the set's documents (nothing invented) and it is not a run statistic
or a greeting; a question no document answers must get "I don't find that in your documents" and
no source; a mixed question must say the run's fact and the document's rule.
`scripts/evaluate_documents.py` prints the table; tests/knowledge/test_documents_eval.py asserts it.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from labvoice.evaluation.documents_suite import (HANDBOOK_PDF_LINES, MIXED, NO_DOCUMENT, SETS, SKLEARN_FILES,
                                                 DocCase)

NOT_FOUND_WORDS = "i don't find that in your documents"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
PdfMaker = Callable[[list[str]], bytes]


@dataclass(frozen=True)
class CaseScore:
    question: str
    expect: str
    ok: bool
    false_answer: bool        # a no-document question answered as if a document said it
    answer: str
    problem: str = ""


@dataclass(frozen=True)
class SetScore:
    name: str
    cases: tuple[CaseScore, ...]

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def correct(self) -> int:
        return sum(c.ok for c in self.cases)

    @property
    def false_answers(self) -> int:
        return sum(c.false_answer for c in self.cases)

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else 0.0


def prepare_sets(workdir: Path, make_pdf: PdfMaker) -> dict[str, Path]:
    """The three document folders: the bundled knowledge base, scikit-learn's descriptions, a PDF."""
    import sklearn

    from labvoice.config import PROJECT_ROOT

    folders = {"knowledge_base": workdir / "knowledge_base", "sklearn_descr": workdir / "sklearn_descr",
               "handbook_pdf": workdir / "handbook_pdf"}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "knowledge_base", folders["knowledge_base"])
    folders["sklearn_descr"].mkdir(parents=True)
    descr = Path(sklearn.__file__).parent / "datasets" / "descr"
    for name in SKLEARN_FILES:
        shutil.copy(descr / name, folders["sklearn_descr"] / name)
    folders["handbook_pdf"].mkdir(parents=True)
    (folders["handbook_pdf"] / "lab_handbook.pdf").write_bytes(make_pdf(list(HANDBOOK_PDF_LINES)))
    return folders


def corpus_text(folder: Path) -> str:
    """Every word of a set's documents, as read for the index (what an answer may quote)."""
    from labvoice.knowledge.cards import list_documents
    from labvoice.knowledge.documents import read_text

    return "\n".join(read_text(path) for path in list_documents(folder))


def _keys_missing(case: DocCase, text: str) -> list[str]:
    low = text.lower()
    return [" | ".join(alts) for alts in case.keys if not any(a.lower() in low for a in alts)]


def score_case(case: DocCase, result, corpus: str) -> CaseScore:
    """Score one answer (an AnswerResult) against its case."""
    shown = result.display or result.text
    said_not_found = NOT_FOUND_WORDS in shown.lower()
    sources = tuple(result.sources)
    if case.expect == "none":
        ok = said_not_found and not sources
        return CaseScore(case.question, case.expect, ok, not ok, shown, "" if ok else "claimed an answer")
    problems = _keys_missing(case, shown)
    facts_text = " ".join(str(f.get("text", "")) + " " + str(f.get("display", "")) for f in result.facts)
    invented = [n for n in _NUMBER.findall(shown) if n not in corpus and n not in facts_text]
    if invented:
        problems.append(f"numbers in no document: {invented}")
    if case.expect == "fact" and (result.shape != "documents" or not sources):
        problems.append(f"answered as {result.shape or 'nothing'}, not from a document")
    if case.expect == "mixed" and not (result.facts and sources):
        problems.append("not both a run fact and a document")
    return CaseScore(case.question, case.expect, not problems, False, shown, "; ".join(problems))


def evaluate_set(name: str, cases: tuple[DocCase, ...], ask: Callable[[str], object], corpus: str) -> SetScore:
    return SetScore(name, tuple(score_case(case, ask(case.question), corpus) for case in cases))


def run_suite(config, embedder, chat_model, workdir: Path, make_pdf: PdfMaker) -> list[SetScore]:
    """Every set, plus the no-document questions (asked of every set) and the mixed ones (knowledge base)."""
    from labvoice.answer.grounded import GroundedAnswerer
    from labvoice.cancel import CancelToken
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.index import build
    from labvoice.knowledge.passages import LiveIndex
    from labvoice.knowledge.retriever import Retriever
    from labvoice.style import Style

    style = Style.from_config(config.style)
    scores: list[SetScore] = []
    none_cases: list[CaseScore] = []
    for name, folder in prepare_sets(workdir, make_pdf).items():
        index_dir = workdir / f"index_{name}"
        build(config.paths.db, folder, index_dir, embedder, chunking=Chunking.from_config(config.knowledge),
              progress=False)
        retriever = Retriever.from_config(config, LiveIndex(index_dir, embedder))
        answerer = GroundedAnswerer(retriever, chat_model, config.llm, config.pipeline)

        def ask(question: str):
            return answerer.answer(question, style, CancelToken()).finish()

        corpus = corpus_text(folder)
        scores.append(evaluate_set(name, SETS[name], ask, corpus))
        none_cases.extend(evaluate_set(name, NO_DOCUMENT, ask, corpus).cases)
        if name == "knowledge_base":
            scores.append(evaluate_set("mixed_runs_and_documents", MIXED, ask, corpus))
    scores.append(SetScore("no_document (every set)", tuple(none_cases)))
    return scores


def table(scores: list[SetScore]) -> str:
    """The per-set table the script prints."""
    lines = [f"{'set':28s} {'questions':>9s} {'right':>6s} {'rate':>7s} {'false answers':>14s}"]
    for s in scores:
        lines.append(f"{s.name:28s} {s.total:9d} {s.correct:6d} {s.rate:7.1%} {s.false_answers:14d}")
    return "\n".join(lines)
