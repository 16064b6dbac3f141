"""Grounded answers: retrieve facts, let the LLM phrase them, guard every speakable piece, and fall
back to the templated sentence when the LLM's wording cannot be trusted.

`GroundedAnswerer.answer()` returns an `AnswerStream`: iterating it yields speakable pieces as
soon as they pass the guard (the pipeline sends each one to TTS at once); afterwards its
`result` holds the full text, the run ids used, the facts and the latency stamps.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from labvoice.answer.guard import HallucinationGuard, Verdict
from labvoice.answer.prompt import build_messages
from labvoice.cancel import CancelToken
from labvoice.knowledge.facts import Context
from labvoice.knowledge.notes import FLAG_ACTION, UNFLAG_ACTION, flag_note, unflag_note
from labvoice.knowledge.retriever import Retrieval, Retriever
from labvoice.llm.base import ChatModel, GenerationOptions, LlmError
from labvoice.answer.chunker import SentenceChunker
from labvoice.style import Style

log = logging.getLogger(__name__)

SMALL_TALK_FALLBACK = ("Hi! I'm labvoice. Ask me about your training runs, for example which run "
                       "had the best validation accuracy.")
LLM_DOWN_SMALL_TALK = "Sorry, my language model is not answering right now, but I can still look up your runs."


@dataclass
class Conversation:
    """What earlier turns leave behind: played exchanges for the prompt, and what they were about."""

    history: list[tuple[str, str]] = field(default_factory=list)
    context: Context = field(default_factory=Context)

    def remember(self, question: str, spoken: str, retrieval: Retrieval | None, interrupted: bool) -> None:
        if spoken:
            self.history.append((question, spoken + (" [interrupted]" if interrupted else "")))
            del self.history[:-20]
        if retrieval is not None and retrieval.used_run_ids:
            q = retrieval.factset.query
            self.context = Context(run_ids=retrieval.used_run_ids, datasets=q.datasets, metric=q.metric)


@dataclass
class AnswerResult:
    question: str
    text: str = ""
    used_run_ids: tuple[str, ...] = ()
    facts: tuple[dict, ...] = ()
    fallback: bool = False
    fallback_reason: str = ""
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stamps: dict[str, float] = field(default_factory=dict)   # monotonic seconds
    retrieval: Retrieval | None = None

    def latency_ms(self) -> dict[str, float]:
        """Milliseconds from the turn's start to each stamp."""
        start = self.stamps.get("start")
        if start is None:
            return {}
        return {name: round((t - start) * 1000, 1) for name, t in self.stamps.items() if name != "start"}


_PROMPT_ECHO = re.compile(r"^\s*(?:(?:FACTS|NOTES|ANSWER|QUESTION)\s*:\s*)?(?:[-*\u2022]\s+)?", re.I)


def clean_piece(piece: str) -> str:
    """Strip what small models echo from the prompt ("FACTS: - ...") and markdown emphasis."""
    return _PROMPT_ECHO.sub("", piece.replace("**", "").replace("__", "")).strip()


def _sentences(spoken: list[str]) -> int:
    return sum(1 for piece in spoken if piece.rstrip().endswith((".", "!", "?")))


def _rest(chunker: SentenceChunker) -> list[str]:
    rest = chunker.flush()
    return [rest] if rest and rest.strip() else []


def _counts(retrieval: Retrieval) -> list[str]:
    """The numbers that count facts answer with ("12 runs used an MLP")."""
    return [m.group(0) for f in retrieval.factset.facts if f.kind == "count"
            for m in [re.match(r"\d+", f.sentence)] if m]


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


class GroundedAnswerer:
    def __init__(self, retriever: Retriever, chat_model: ChatModel, llm_config, pipeline_config,
                 edit_note: Callable[[str, Callable[[str], str]], str] | None = None) -> None:
        self.retriever = retriever
        self.chat_model = chat_model
        self.llm_config = llm_config
        self.pipeline_config = pipeline_config
        self.edit_note = edit_note or retriever.store.edit_note   # one transaction per edit

    def _chunker(self) -> SentenceChunker:
        return SentenceChunker(self.pipeline_config.chunk_min_words, self.pipeline_config.chunk_max_words)

    def answer(self, question: str, style: Style, cancel: CancelToken, conversation: Conversation | None = None,
               t_start: float | None = None, until_voiced: Callable[[], None] = lambda: None) -> AnswerStream:
        """`until_voiced` is called after the facts were handed out and before the LLM is asked
        for remarks: the pipeline returns from it once the first piece has audio, so the model's
        prompt prefill does not compete with the first audio for a small CPU."""
        result = AnswerResult(question=question)
        result.stamps["start"] = t_start if t_start is not None else time.monotonic()
        return AnswerStream(self._run(question, style, cancel, conversation or Conversation(), result, until_voiced),
                            result)

    def _run(self, question: str, style: Style, cancel: CancelToken, conversation: Conversation,
             result: AnswerResult, until_voiced: Callable[[], None]) -> Iterator[str]:
        retrieval = self.retriever.retrieve(question, conversation.context)
        result.retrieval = retrieval
        result.stamps["retrieval"] = time.monotonic()
        result.warnings.extend(retrieval.warnings)
        result.used_run_ids = retrieval.used_run_ids
        result.facts = tuple(f.as_dict() for f in retrieval.factset.facts)
        template = retrieval.factset.templated_answer

        actions = [f.action for f in retrieval.factset.facts if f.action]
        if actions:
            template = self._perform(actions, template, result)
            yield from self._emit_template(template, result, cancel, reason="")
            return

        spoken: list[str] = []
        guard = HallucinationGuard(retrieval.grounding_text(), self.retriever.finder().vocab, question)
        if retrieval.factset.facts and template and self.llm_config.facts_first:
            yield from self._facts_then_remarks(template, retrieval, guard, style, cancel, conversation, result,
                                                until_voiced)
            return
        messages = build_messages(retrieval, style, conversation.history, self.llm_config.history_turns)
        check = guard.check_on_topic if retrieval.factset.facts else guard.check
        rejected = yield from self._stream_guarded(messages, check, style, cancel, spoken, result)
        if cancel.cancelled:
            result.interrupted = True
            result.text = " ".join(spoken)
            return
        # The run ids the templated answer names, and a count's number, must be in what the LLM
        # said, or the answer is incomplete.
        said = " ".join(spoken)
        missing = [rid for rid in retrieval.used_run_ids[:3] if rid in template and rid not in said]
        missing += [f"the count {n}" for n in _counts(retrieval) if not re.search(rf"\b{n}\b", said)]
        if rejected or not spoken or (retrieval.factset.facts and missing):
            if not template:
                template = LLM_DOWN_SMALL_TALK if result.errors else SMALL_TALK_FALLBACK
            reason = rejected or ("empty answer" if not spoken else f"answer left out {', '.join(missing)}")
            yield from self._emit_template(template, result, cancel, reason, spoken)
            return
        result.text = " ".join(spoken)

    def _facts_then_remarks(self, template: str, retrieval: Retrieval, guard: HallucinationGuard, style: Style,
                            cancel: CancelToken, conversation: Conversation, result: AnswerResult,
                            until_voiced: Callable[[], None]) -> Iterator[str]:
        """Speak the SQL facts at once (no waiting for the LLM, and always right), then let the LLM
        add remarks while they play, each guarded, stopping quietly at the first that fails."""
        spoken: list[str] = []
        yield from self._emit_template(template, result, cancel, reason="", spoken=spoken)
        room = style.max_sentences() - _sentences(spoken)
        if cancel.cancelled or room <= 0:
            return
        until_voiced()
        if cancel.cancelled:
            result.interrupted = True
            return
        messages = build_messages(retrieval, style, conversation.history, self.llm_config.history_turns,
                                  already_said=template, remark_sentences=room)
        rejected = yield from self._stream_guarded(messages, lambda piece: guard.check_remark(piece, template),
                                                   style, cancel, spoken, result)
        if rejected:
            log.info("remark not spoken: %s", rejected)
        result.interrupted = cancel.cancelled

    def _stream_guarded(self, messages, check: Callable[[str], Verdict], style: Style, cancel: CancelToken,
                        spoken: list[str], result: AnswerResult) -> Iterator[str]:
        """Stream the LLM's answer, yield each piece that passes `check`, stop at the first that
        does not, when cancelled, or after the style's sentence limit. Returns why it stopped
        early ("" when it did not); an LLM error is recorded and returned as the reason."""
        options = GenerationOptions(max_tokens=self.llm_config.max_tokens,
                                    temperature=style.llm_temperature(self.llm_config.temperature))
        chunker = self._chunker()
        stream = self.chat_model.stream_chat(messages, options, cancel)
        rejected = ""
        try:
            for token in stream:
                result.stamps.setdefault("first_token", time.monotonic())
                for piece in filter(None, map(clean_piece, chunker.feed(token))):
                    verdict = check(piece)
                    if not verdict.ok:
                        rejected = verdict.problem
                        break
                    yield from self._emit(piece, spoken, result)
                if rejected or cancel.cancelled or _sentences(spoken) >= style.max_sentences():
                    break
            if not rejected and not cancel.cancelled and _sentences(spoken) < style.max_sentences():
                for piece in filter(None, map(clean_piece, _rest(chunker))):
                    verdict = check(piece)
                    if not verdict.ok:
                        rejected = verdict.problem
                        break
                    yield from self._emit(piece, spoken, result)
        except LlmError as err:
            result.errors.append(str(err))
            rejected = f"LLM failed: {err}"
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()  # releases the request (HTTP backends: the server aborts it)
        result.stamps["llm_done"] = time.monotonic()
        return rejected

    def _emit(self, piece: str, spoken: list[str], result: AnswerResult) -> Iterator[str]:
        result.stamps.setdefault("first_chunk", time.monotonic())
        spoken.append(piece)
        result.text = " ".join(spoken)
        yield piece

    def _emit_template(self, template: str, result: AnswerResult, cancel: CancelToken, reason: str,
                       spoken: list[str] | None = None) -> Iterator[str]:
        spoken = spoken if spoken is not None else []
        if reason:
            result.fallback = True
            result.fallback_reason = reason
            log.info("templated answer used: %s", reason)
        chunker = self._chunker()
        for piece in list(chunker.feed(template)) + _rest(chunker):
            if cancel.cancelled:
                result.interrupted = True
                break
            yield from self._emit(piece, spoken, result)
        result.stamps.setdefault("llm_done", time.monotonic())

    def _perform(self, actions, template: str, result: AnswerResult) -> str:
        """Writes (flag for publishing, or take the flag off) are committed before they are confirmed to
        the user. The flag is added to or removed from the run's note; the user's words stay."""
        changes = {FLAG_ACTION: flag_note, UNFLAG_ACTION: unflag_note}
        for action in actions:          # (kind, run_id, ...): FLAG_ACTION / UNFLAG_ACTION
            kind, run_id = action[0], action[1]
            if kind not in changes:
                continue
            try:
                self.edit_note(run_id, changes[kind])
            except Exception as err:  # the confirmation must not claim a write that failed
                result.errors.append(f"could not flag run {run_id}: {err}")
                return f"Sorry, I could not flag run {run_id}: {err}"
        return template
