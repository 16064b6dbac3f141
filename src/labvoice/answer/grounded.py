"""Grounded answers: the executed query's facts are spoken first, the LLM may add guarded remarks,
and everything spoken passes the last check for the ear.

`GroundedAnswerer.answer()` returns an `AnswerStream`: iterating it yields speakable pieces as
soon as they pass the guard (the pipeline sends each one to TTS at once); afterwards its
`result` holds the display text (full ids, exact values), the spoken text, the executed query,
the run ids used, the facts and the latency stamps.

What is answered how:
- a question about the runs: the facts (computed, never generated), then remarks, each guarded
  (ids, numbers and claims against the typed rows, no echo of the prompt or question);
- a question about the runs that no query expresses: "I can't work that out from the runs yet"
  and what it can do; the LLM is not asked (it would answer from nothing);
- small talk: a joke when asked (the LLM's if usable, else a built-in one by the humour slider),
  the kinds of question with examples, or a short guarded LLM reply;
- when the parser is unsure and a capable LLM is configured, the LLM writes the query (planner.py).
"""
from __future__ import annotations

import dataclasses
import logging
import re
import time
from typing import Callable, Iterator

from labvoice.answer.chunker import SentenceChunker, split_first_piece
from labvoice.answer.claims import ClaimChecker
from labvoice.answer.documents import phrase_grounding, phrase_messages, reply_from_documents, warm_sentences
from labvoice.answer.guard import HallucinationGuard, Verdict
from labvoice.answer.planner import QueryPlanner, planner_names
from labvoice.answer.prompt import SYSTEM_PROMPT, build_messages, instructions
from labvoice.answer.result import AnswerResult, AnswerStream, Conversation
from labvoice.answer.remarks import FactTokens, check_adds_fact, fact_lines
from labvoice.answer.smalltalk import (LLM_JOKE_MIN_HUMOUR, LOST_PUNCHLINE, JokeTeller, builtin_joke, cant_work_out,
                                       capabilities, capabilities_answer, is_capability_question, is_joke_request,
                                       joke_messages)
from labvoice.answer.spoken import speakable
from labvoice.cancel import CancelToken
from labvoice.config import LlmConfig, PipelineConfig
from labvoice.answer.writes import WriteDesk, WriteReply
from labvoice.knowledge.journal import WriteJournal
from labvoice.knowledge.query.model import FlagRequest, RunQuery, SmallTalk, Unsupported, query_json
from labvoice.knowledge.query.wording import kind_words, words_for_name
from labvoice.knowledge.retriever import Retrieval, Retriever
from labvoice.llm.base import ChatModel, GenerationOptions, LlmError
from labvoice.style import Style

__all__ = ["AnswerResult", "AnswerStream", "Conversation", "GroundedAnswerer", "clean_piece"]

log = logging.getLogger(__name__)

SMALL_TALK_FALLBACK = ("Hi! I'm labvoice. Ask me about your training runs, for example which run "
                       "had the best validation accuracy.")
LLM_DOWN_SMALL_TALK = "Sorry, my language model is not answering right now, but I can still look up your runs."
JOKE_MAX_TOKENS = 60
MAX_CHECKED_IDS = 50   # run ids the last spoken check shortens by name (others by their hex shape)

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
            for m in [re.match(r"\d+", f.spoken)] if m]


def _claims(retrieval: Retrieval) -> ClaimChecker:
    """The executed query's claims and rows, for checking what the LLM says about each run."""
    result = retrieval.factset
    return ClaimChecker(result.claims, result.rows,
                        result_texts=[f.display for f in result.facts], known_run_ids=retrieval.used_run_ids)


def _kind_of(retrieval: Retrieval) -> str:
    """What was asked: runs | flag | small_talk | documents | clarify | unsupported."""
    return retrieval.factset.query.type


def _small_talk_kind(retrieval: Retrieval) -> str:
    """The small talk's kind ("joke", "capabilities", ...); "" for any other question."""
    query = retrieval.factset.query
    return query.kind if isinstance(query, SmallTalk) else ""


class GroundedAnswerer:
    def __init__(self, retriever: Retriever, chat_model: ChatModel, llm_config: LlmConfig,
                 pipeline_config: PipelineConfig,
                 journal: WriteJournal | None = None, planner: QueryPlanner | None = None) -> None:
        """`planner`: asked for the query when the parser's confidence is below
        `llm_config.planner_below_confidence` (None: never; see planner.planner_enabled)."""
        self.retriever = retriever
        self.chat_model = chat_model
        self.llm_config = llm_config
        self.pipeline_config = pipeline_config
        self.writes = WriteDesk(journal or retriever.store.journal())   # every write recorded, undoable
        self.planner = planner

    def _chunker(self) -> SentenceChunker:
        return SentenceChunker(self.pipeline_config.chunk_min_words, self.pipeline_config.chunk_max_words)

    def answer(self, question: str, style: Style, cancel: CancelToken, conversation: Conversation | None = None,
               t_start: float | None = None, until_voiced: Callable[[], None] = lambda: None) -> AnswerStream:
        """`until_voiced` is called after the facts were handed out and before the LLM is asked
        for remarks, and, where the LLM speaks first, after its first piece before it writes on:
        the pipeline returns from it once the first piece has audio, so the model's prefill and
        decoding do not compete with the first audio for a small CPU."""
        result = AnswerResult(question=question)
        result.stamps["start"] = t_start if t_start is not None else time.monotonic()
        return AnswerStream(self._run(question, style, cancel, conversation or Conversation(), result, until_voiced),
                            result)

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for: the LLM's stable prompt (system
        prompt, then the joke request, which never changes) into llama.cpp's cache, and the
        question parser's embeddings."""
        self.chat_model.warm_up(joke_messages(SYSTEM_PROMPT))
        self.retriever.retrieve("Which run has the best validation accuracy?", Conversation().context)
        passages = self.retriever.passages
        if passages is not None and passages.embedder is not None:   # the documents' sentences, embedded once
            from labvoice.knowledge.doc_search import search_for

            warm_sentences(search_for(passages.current()).passages, passages.embedder)

    # --- retrieval and the planner ------------------------------------------------------------
    def _retrieve(self, question: str, conversation: Conversation, cancel: CancelToken,
                  result: AnswerResult) -> Retrieval:
        retrieval = self.retriever.retrieve(question, conversation.context)
        confidence = retrieval.factset.confidence
        threshold = self.llm_config.planner_below_confidence
        unsure = confidence < threshold or threshold >= 1.0   # 1 = plan every run question
        if self.planner is None or not unsure or cancel.cancelled:
            return retrieval
        if _kind_of(retrieval) in ("flag", "documents", "small_talk"):
            return retrieval   # writes are never planned; documents and small talk are not run queries
        finder = self.retriever.finder()
        outcome = self.planner.plan(question, planner_names(finder), cancel, tuple(conversation.context.run_ids))
        result.planner = {"asked": True, "used": outcome.parsed is not None, "ms": outcome.ms,
                          "problem": outcome.problem, "parser_confidence": round(confidence, 3)}
        if outcome.parsed is None:
            log.info("planner not used (%s); keeping the parser's query", outcome.problem)
            return retrieval
        parsed = outcome.parsed
        if isinstance(parsed, FlagRequest):
            result.planner.update(used=False, problem="a planned write is never performed")
            return retrieval      # only the user's own imperative request writes (query/writes.py)
        if isinstance(parsed, RunQuery) and parsed.refers_back and not parsed.run_ids and conversation.context.run_ids:
            parsed = parsed.model_copy(update={"run_ids": tuple(conversation.context.run_ids)})
        try:
            planned = finder.find(parsed)
        except Exception as err:  # noqa: BLE001 - a planned query the executor cannot run: keep the parser's
            result.planner.update(used=False, problem=f"planned query failed: {err}")
            log.info("planned query failed (%s); keeping the parser's query", err)
            return retrieval
        return dataclasses.replace(retrieval, factset=planned)

    def _vocab_names(self) -> dict[str, str]:
        """Names from this DB for the examples of what can be asked."""
        try:
            vocab = self.retriever.finder().vocab
        except Exception:  # noqa: BLE001 - examples fall back to generic names
            return {}
        names = {}
        if vocab.metrics:
            names["metric"] = words_for_name(vocab.headline_metric() or vocab.metrics[0])
        if vocab.datasets:
            names["dataset"] = words_for_name(vocab.datasets[0])
        if vocab.model_kinds:
            names["kind"] = kind_words(vocab.model_kinds[0])
        if vocab.params:
            names["param"] = words_for_name(vocab.params[0])
        return names

    # --- the answer ---------------------------------------------------------------------------
    def _run(self, question: str, style: Style, cancel: CancelToken, conversation: Conversation,
             result: AnswerResult, until_voiced: Callable[[], None]) -> Iterator[str]:
        pending, conversation.pending_write = conversation.pending_write, None   # a read-back lives one turn
        reply = self.writes.before_parsing(question, pending)
        if reply is not None:      # "yes" to a read-back, "no", or "undo that"
            yield from self._write_reply(reply, result, cancel, conversation)
            return
        retrieval = self._retrieve(question, conversation, cancel, result)
        result.retrieval = retrieval
        result.stamps["retrieval"] = time.monotonic()
        result.warnings.extend(retrieval.warnings)
        result.used_run_ids = retrieval.used_run_ids
        result.facts = tuple(f.as_dict() for f in retrieval.factset.facts)
        result.query = query_json(retrieval.factset.query)
        kind = _kind_of(retrieval)
        result.shape = retrieval.factset.shape or kind
        template = retrieval.factset.templated_answer
        display = retrieval.factset.display_answer
        facts = retrieval.factset.facts

        if not facts and (is_joke_request(question) or _small_talk_kind(retrieval) == "joke"):
            yield from self._joke(style, cancel, result, until_voiced)
            return
        if not facts and (is_capability_question(question) or _small_talk_kind(retrieval) == "capabilities"):
            shown, said = capabilities_answer(capabilities(**self._vocab_names()))
            yield from self._emit_template(said, result, cancel, reason="", display=shown)
            return
        if retrieval.route is not None and retrieval.route.route in ("documents", "both"):   # the passage that says it
            passages = self.retriever.passages
            reply = reply_from_documents(retrieval, passages.embedder if passages is not None else None)
            result.sources = tuple(source.as_dict() for source in reply.sources)
            if self.planner is not None and reply.found and retrieval.route.route == "documents":
                # a capable LLM phrases the sentences; every number and name it says must be in them
                guard = HallucinationGuard(phrase_grounding(reply), self.retriever.finder().vocab, question)
                phrased: list[str] = []
                rejected = yield from self._stream_guarded(phrase_messages(question, reply, SYSTEM_PROMPT), guard.check,
                                                           style, cancel, phrased, [], result, until_voiced)
                result.display = reply.display
                if phrased or cancel.cancelled:
                    return
                result.dropped.append(f"the LLM's phrasing was not spoken: {rejected or 'empty'}")
            said: list[str] = []
            rest = reply.spoken
            if reply.lead and rest.startswith(reply.lead) and not cancel.cancelled:
                # where it comes from is said while the sentence is synthesized: a short first piece
                yield from self._emit(reply.lead, said, result)
                rest = rest[len(reply.lead):].strip()
            yield from self._emit_template(rest, result, cancel, reason="", display=reply.display, spoken=said)
            return
        if kind == "clarify":     # a question back: said as it is, nothing added after it
            yield from self._emit_template(template, result, cancel, reason="", display=display)
            return
        if (kind == "unsupported" and not retrieval.passages) or (kind in ("runs", "flag") and not facts):
            query = retrieval.factset.query
            reason = query.reason if isinstance(query, Unsupported) else ""
            shown, said = cant_work_out(capabilities(**self._vocab_names()), reason)
            yield from self._emit_template(said, result, cancel, reason="", display=shown)
            return

        if isinstance(retrieval.factset.query, FlagRequest) and any(f.action for f in facts):
            reply = self.writes.request(question, retrieval.factset.query, facts)
            yield from self._write_reply(reply, result, cancel, conversation)
            return

        spoken: list[str] = []
        if facts and template and self.llm_config.facts_first:
            yield from self._facts_then_remarks(template, display, retrieval, style, cancel, conversation,
                                                result, until_voiced)
            return
        guard = HallucinationGuard(retrieval.grounding_text(), self.retriever.finder().vocab, question,
                                   instructions=instructions(style), claims=_claims(retrieval) if facts else None)
        messages = build_messages(retrieval, style, conversation.history, self.llm_config.history_turns)
        check = guard.check_on_topic if facts else guard.check
        raw: list[str] = []
        rejected = yield from self._stream_guarded(messages, check, style, cancel, spoken, raw, result,
                                                   until_voiced)
        if cancel.cancelled:
            result.interrupted = True
            return
        # The run ids the facts name, and a count's number, must be in what the LLM said, or the
        # answer is incomplete.
        said = " ".join(raw)
        missing = [rid for rid in retrieval.used_run_ids[:3] if rid in display and rid not in said]
        missing += [f"the count {n}" for n in _counts(retrieval) if not re.search(rf"\b{n}\b", said)]
        if rejected or not spoken or (facts and missing):
            if not template:
                template = LLM_DOWN_SMALL_TALK if result.errors else SMALL_TALK_FALLBACK
            reason = rejected or ("empty answer" if not spoken else f"answer left out {', '.join(missing)}")
            yield from self._emit_template(template, result, cancel, reason, display=display or template,
                                           spoken=spoken)

    def _facts_then_remarks(self, template: str, display: str, retrieval: Retrieval, style: Style, cancel: CancelToken, conversation: Conversation, result: AnswerResult,
                            until_voiced: Callable[[], None]) -> Iterator[str]:
        """Speak the facts at once (no waiting for the LLM, and always right), then let the LLM add
        remarks while they play, each guarded, stopping quietly at the first that fails."""
        spoken: list[str] = []
        yield from self._emit_template(template, result, cancel, reason="", display=display, spoken=spoken)
        room = style.max_sentences() - _sentences(spoken)
        if cancel.cancelled or room <= 0:
            return
        until_voiced()
        if cancel.cancelled:
            result.interrupted = True
            return
        guard = HallucinationGuard(retrieval.grounding_text(), self.retriever.finder().vocab, retrieval.question,
                                   instructions=instructions(style, room), claims=_claims(retrieval))
        messages = build_messages(retrieval, style, conversation.history, self.llm_config.history_turns,
                                  already_said=template, remark_sentences=room)
        # A remark must add to what was said and to the fact lines the prompt showed (a small model
        # reads "Runs by val_accuracy (descending) ..." back otherwise).
        already = f"{template} {display}"
        tokens, grounding = FactTokens.from_vocab(self.retriever.finder().vocab), fact_lines(retrieval.factset.facts)
        def check(piece: str) -> Verdict:
            verdict = check_adds_fact(guard.check_remark(piece, already), piece, template, grounding, tokens)
            if not verdict.ok:
                result.remarks_refused.append(piece)
            return verdict

        facts_said = len(spoken)
        rejected = yield from self._stream_guarded(   # spoken only when it adds a grounded fact (remarks.py)
            messages, check, style, cancel, spoken, [], result)
        result.remarks.extend(spoken[facts_said:])
        if rejected:
            log.info("remark not spoken: %s", rejected)
            result.dropped.append(rejected)
        result.interrupted = cancel.cancelled

    def _joke(self, style: Style, cancel: CancelToken, result: AnswerResult,
              until_voiced: Callable[[], None] = lambda: None) -> Iterator[str]:
        """The LLM's joke when it is a usable one (asked with a short prompt that never changes, so
        llama.cpp has it cached), told sentence by sentence as it streams (smalltalk.JokeTeller),
        else one from the built-in list with the play the humour slider asks for."""
        result.shape = "small_talk"
        spoken: list[str] = []
        if style.humour >= LLM_JOKE_MIN_HUMOUR:
            yield from self._llm_joke(style, cancel, result, spoken, until_voiced)
        if cancel.cancelled:
            result.interrupted = True
            return
        if not spoken:
            yield from self._emit_template(builtin_joke(style.humour), result, cancel, reason="")
        result.stamps.setdefault("llm_done", time.monotonic())

    def _llm_joke(self, style: Style, cancel: CancelToken, result: AnswerResult, spoken: list[str],
                  until_voiced: Callable[[], None]) -> Iterator[str]:
        options = GenerationOptions(max_tokens=JOKE_MAX_TOKENS, temperature=style.llm_temperature(
            self.llm_config.temperature))
        guard = HallucinationGuard("", self.retriever.finder().vocab)
        teller = JokeTeller()
        stream = self.chat_model.stream_chat(joke_messages(SYSTEM_PROMPT), options, cancel)

        def tell(sentences: list[str]) -> Iterator[str]:
            for sentence in sentences:
                if not guard.check(sentence).ok:
                    teller.done = True
                    return
                result.display = f"{result.display} {sentence}".strip()
                yield from self._emit(sentence, spoken, result)

        budget_s = self.llm_config.joke_budget_ms / 1000
        deadline = time.monotonic() + budget_s if budget_s > 0 else None
        try:
            for token in stream:
                result.stamps.setdefault("first_token", time.monotonic())
                told = bool(spoken)
                yield from tell(teller.feed(token))
                if teller.done or cancel.cancelled:
                    break
                if not spoken and deadline is not None and time.monotonic() > deadline:
                    # Nothing told yet and the budget is spent: a built-in joke now beats a silence.
                    result.dropped.append(f"the LLM's joke was not ready within {budget_s * 1000:.0f} ms")
                    return
                if spoken and not told:
                    until_voiced()   # decoding on beside the first piece's synthesis would delay its audio
            else:
                yield from tell(teller.finish())
        except LlmError as err:
            result.errors.append(str(err))
        finally:
            stream.close()   # releases the request (HTTP backends: the server aborts it)
        if teller.hanging and not cancel.cancelled:
            result.display = f"{result.display} {LOST_PUNCHLINE}"
            yield from self._emit(LOST_PUNCHLINE, spoken, result)
        if not spoken and not cancel.cancelled:
            result.dropped.append(f"not a usable joke: {teller.text[:80]!r}")

    def _stream_guarded(self, messages, check: Callable[[str], Verdict], style: Style, cancel: CancelToken,
                        spoken: list[str], raw: list[str], result: AnswerResult,
                        until_voiced: Callable[[], None] = lambda: None) -> Iterator[str]:
        """Stream the LLM's answer, yield each piece that passes `check` (rewritten for the ear),
        stop at the first that does not, when cancelled, or after the style's sentence limit.
        Returns why it stopped early ("" when it did not); an LLM error is recorded and returned
        as the reason. `raw` collects the pieces as the LLM wrote them (full ids, exact values)."""
        options = GenerationOptions(max_tokens=self.llm_config.max_tokens,
                                    temperature=style.llm_temperature(self.llm_config.temperature))
        chunker = self._chunker()
        stream = self.chat_model.stream_chat(messages, options, cancel)
        rejected = ""

        def take(pieces) -> Iterator[str]:
            nonlocal rejected
            for piece in filter(None, map(clean_piece, pieces)):
                verdict = check(piece)
                if not verdict.ok:
                    rejected = verdict.problem
                    return
                raw.append(piece)
                result.display = f"{result.display} {piece}".strip()
                yield from self._emit(piece, spoken, result)

        waiting_voice = not spoken   # this stream makes the first piece: let the voice have the CPU for it
        try:
            for token in stream:
                result.stamps.setdefault("first_token", time.monotonic())
                yield from take(chunker.feed(token))
                if rejected or cancel.cancelled or _sentences(spoken) >= style.max_sentences():
                    break
                if waiting_voice and spoken:
                    waiting_voice = False
                    until_voiced()   # decoding on beside the first piece's synthesis would delay its audio
            if not rejected and not cancel.cancelled and _sentences(spoken) < style.max_sentences():
                yield from take(_rest(chunker))
        except LlmError as err:
            result.errors.append(str(err))
            rejected = f"LLM failed: {err}"
        finally:
            stream.close()   # releases the request (HTTP backends: the server aborts it)
        result.stamps["llm_done"] = time.monotonic()
        return rejected

    def _emit(self, piece: str, spoken: list[str], result: AnswerResult) -> Iterator[str]:
        """Hand one piece to the synthesizer, after the last check for the ear: rewritten (words
        for names, short handles for ids, rounded numbers) or, when it cannot be, dropped."""
        ids = tuple(result.used_run_ids[:MAX_CHECKED_IDS])
        said = speakable(piece, ids)
        if said is None:
            result.dropped.append(f"not fit to speak: {piece[:80]!r}")
            log.info("piece not spoken (not fit for the ear): %r", piece)
            return
        result.stamps.setdefault("first_chunk", time.monotonic())
        for part in split_first_piece(said) if not spoken else [said]:   # the first audio waits for it whole
            spoken.append(part)
            result.text = " ".join(spoken)
            yield part

    def _emit_template(self, template: str, result: AnswerResult, cancel: CancelToken, reason: str,
                       display: str = "", spoken: list[str] | None = None) -> Iterator[str]:
        """Speak `template` (already worded for the ear) piece by piece; the window shows `display`
        (the same facts with full ids and exact values), or the template itself."""
        spoken = spoken if spoken is not None else []
        if reason:
            result.fallback = True
            result.fallback_reason = reason
            log.info("templated answer used: %s", reason)
        result.display = f"{result.display} {display or template}".strip()
        chunker = self._chunker()
        for piece in list(chunker.feed(template)) + _rest(chunker):
            if cancel.cancelled:
                result.interrupted = True
                break
            yield from self._emit(piece, spoken, result)
        result.stamps.setdefault("llm_done", time.monotonic())

    def _write_reply(self, reply: WriteReply, result: AnswerResult, cancel: CancelToken,
                     conversation: Conversation) -> Iterator[str]:
        """Speak what a write turn did (or reads back); a read-back waits in the conversation for "yes"."""
        conversation.pending_write = reply.pending
        result.shape = "write"
        result.facts = (reply.as_fact(),)
        result.used_run_ids = reply.run_ids
        if reply.outcome == "refused" and reply.error_code not in (None, "nothing_to_undo"):
            result.errors.append(reply.display)
        yield from self._emit_template(reply.spoken, result, cancel, reason="", display=reply.display)
