"""What one answer leaves behind (`AnswerResult`), the stream that yields its spoken pieces
(`AnswerStream`), and what a conversation keeps between turns (`Conversation`).

`AnswerResult.display` is for the window and `ask --json`'s `answer` (full run ids, exact
values); `AnswerResult.text` is exactly the text handed to the synthesizer; `query` is the query
that was executed, as JSON data.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from labvoice.answer.writes import PendingWrite
from labvoice.knowledge.facts import Context, context_after
from labvoice.knowledge.query.followup import complete, correction
from labvoice.knowledge.query.model import Clarify
from labvoice.knowledge.retriever import Retrieval


@dataclass
class Conversation:
    """What earlier turns leave behind: played exchanges for the prompt, and what they were about."""

    history: list[tuple[str, str]] = field(default_factory=list)
    context: Context = field(default_factory=Context)
    pending_write: PendingWrite | None = None     # a write read back, waiting for "yes" (answer/writes.py)

    def remember(self, question: str, spoken: str, retrieval: Retrieval | None, interrupted: bool) -> None:
        if spoken:
            self.history.append((question, spoken + (" [interrupted]" if interrupted else "")))
            del self.history[:-20]
        if retrieval is None:
            return
        if self.context.pending is not None:     # a reply to a question back: the question it completed
            question = complete(self.context.pending, question) or question
        elif self.context.question and correction(question) is not None:
            question = self.context.question    # corrected again, the question keeps its own words
        if retrieval.used_run_ids or isinstance(retrieval.factset.query, Clarify):
            # a question back waits for its answer; "no, I said ..." corrects the question answered
            self.context = replace(context_after(retrieval.factset), question=question)
        elif self.context.pending is not None:
            self.context = replace(self.context, pending=None)   # answered by another question: dropped


@dataclass
class AnswerResult:
    question: str
    text: str = ""                       # what was spoken (the pieces handed out), joined
    display: str = ""                    # what the window shows: full run ids, exact values
    used_run_ids: tuple[str, ...] = ()
    facts: tuple[dict, ...] = ()
    query: dict[str, Any] | None = None  # the executed query (JSON data); None when none ran
    shape: str = ""                      # the query's shape, or small_talk / unsupported / documents ...
    planner: dict[str, Any] = field(default_factory=dict)   # asked, used, problem, ms (LLM query planner)
    fallback: bool = False
    fallback_reason: str = ""
    interrupted: bool = False
    dropped: list[str] = field(default_factory=list)       # pieces not spoken, with why
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stamps: dict[str, float] = field(default_factory=dict)   # monotonic seconds
    retrieval: Retrieval | None = None
    sources: tuple[dict, ...] = ()         # document answers: file, heading, sentences used (answer/documents.py)
    remarks: list[str] = field(default_factory=list)          # the LLM's remarks after the facts that were spoken
    remarks_refused: list[str] = field(default_factory=list)  # the remark pieces the checks stopped (answer/remarks.py)

    def latency_ms(self) -> dict[str, float]:
        """Milliseconds from the turn's start to each stamp."""
        start = self.stamps.get("start")
        if start is None:
            return {}
        return {name: round((t - start) * 1000, 1) for name, t in self.stamps.items() if name != "start"}


class AnswerStream:
    def __init__(self, pieces: Iterator[str], result: AnswerResult) -> None:
        self._pieces = pieces
        self.result = result

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def finish(self) -> AnswerResult:
        for _ in self._pieces:
            pass
        return self.result
