"""The CPU chat model: llama-cpp-python in-process with the bundled SmolLM2-135M-Instruct GGUF.

llama.cpp reuses its KV cache for the longest common prompt prefix, so the system prompt kept
first and unchanged is evaluated once, not every turn (prefill dominates time to first token).
The context holds one prompt at a time, though: after a facts turn the joke request (which never
changes) had ~26 tokens to evaluate again. llama-cpp-python's RAM state cache keeps the states of
recent prompts (~4 MB each for SmolLM2 at these lengths, `_compact_state_cache`) and restores the
one sharing the longest prefix, so the joke request, warmed at start-up, starts decoding at once (first token 126-162 ->
42-86 ms after a facts prompt, same process).

The cache is small on purpose: with `llm.history_turns` 1, two prompts share only the system prompt
(the previous turn's question and answer follow it), so an older state adds nothing a newer one
lacks. It holds the warmed prompts (pinned) and the STATE_CACHE_RECENT most recent others, at most
STATE_CACHE_BYTES in all. At 64 MB and no count limit it filled over the soak's first ~150 turns
(one ~4.2 MB state per LLM call: 46 MB of the 60 MB RSS grew between turns 27 and 80).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Iterator

from labvoice.cancel import NEVER, CancelToken
from labvoice.llm.base import ChatMessage, GenerationOptions, LlmError
from labvoice.models import resolve_model

log = logging.getLogger(__name__)

STATE_CACHE_BYTES = 32 << 20   # saved llama.cpp states in RAM, all counted (KV, logits row, token ids)
STATE_CACHE_RECENT = 3         # states kept besides the warmed ones, least recently used dropped first


def state_footprint(state) -> int:
    """What one saved state holds in RAM: the KV bytes, its logits rows and its token ids."""
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


def _compact_state_cache(capacity_bytes: int, recent: int = STATE_CACHE_RECENT):
    """llama-cpp-python's RAM state cache, keeping only the last row of each state's logits,
    the warmed prompts' states (`pin()` after each) and the `recent` most recently used others, and at most
    `capacity_bytes` of states in all.

    A saved state carries a copy of the logits of every prompt token (49,152 floats each for
    SmolLM2: ~200 KB per token, ~100 MB for a facts prompt), and the library's capacity counts only
    the KV part (~2.7 MB): the 60-turn soak grew 605 MB per 100 turns. With `logits_all` off only the
    last row is read (sampling; a restored prompt re-evaluates its last token anyway), and
    `load_state` assigns the rows by broadcasting, so one row restores the same. The capacity
    counts each state's whole footprint (`state_footprint`), so the bound is what RAM holds."""
    from llama_cpp import LlamaRAMCache

    class CompactStateCache(LlamaRAMCache):
        def __init__(self) -> None:
            super().__init__(capacity_bytes=capacity_bytes)
            self.recent = recent
            self.pinned: frozenset[tuple[int, ...]] = frozenset()
            self._newest: tuple[int, ...] | None = None

        @property
        def cache_size(self) -> int:
            return sum(state_footprint(state) for state in self.cache_state.values())

        def pin(self) -> None:
            """Keep the state saved last (a warmed prompt's) whatever comes after."""
            if self._newest in self.cache_state:
                self.pinned |= {self._newest}

        def __setitem__(self, key, value) -> None:
            if value.scores is not None and value.scores.shape[0] > 1:
                value.scores = value.scores[-1:].copy()
            key = tuple(key)
            self.cache_state.pop(key, None)
            self.cache_state[key] = value
            self._newest = key
            while True:
                others = [k for k in self.cache_state if k not in self.pinned]   # least recently used first
                if not others or (len(others) <= self.recent and self.cache_size <= self.capacity_bytes):
                    break
                del self.cache_state[others[0]]

    return CompactStateCache()


class LlamaCppChat:
    name = "llama_cpp"
    structured_output = True   # llama.cpp turns a JSON schema into a grammar (the query planner)

    def __init__(self, model_path: Path, n_ctx: int, threads: int, seed: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise LlmError("llama-cpp-python is not installed; run: make install") from err
        self.model_path = Path(model_path)
        self._lock = threading.Lock()  # one llama context: one generation at a time
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads,
                              n_threads_batch=threads, seed=seed, verbose=False)
        except (ValueError, RuntimeError) as err:
            raise LlmError(f"cannot load GGUF model {model_path}: {err}") from None
        self._cache = _compact_state_cache(STATE_CACHE_BYTES)
        self._llm.set_cache(self._cache)

    @classmethod
    def from_config(cls, config) -> "LlamaCppChat":
        cfg = config.llm.llama_cpp
        path = resolve_model("llm", cfg.model, config.paths.models)
        return cls(path, cfg.n_ctx, config.threads, cfg.seed)

    def stream_chat(self, messages: list[ChatMessage], options: GenerationOptions,
                    cancel: CancelToken, response_format: dict | None = None) -> Iterator[str]:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        with self._lock:
            import llama_cpp

            llama_cpp.llama_perf_context_reset(self._llm._ctx.ctx)   # per-call counts (prompt_tokens_evaluated)
            try:
                chunks = self._llm.create_chat_completion(
                    messages=payload, stream=True, max_tokens=options.max_tokens,
                    temperature=options.temperature, stop=list(options.stop) or None,
                    response_format=response_format)
            except ValueError as err:  # e.g. prompt longer than the context window
                raise LlmError(f"llama.cpp rejected the prompt: {err}") from None
            try:
                for chunk in chunks:
                    if cancel.cancelled:
                        return  # stop iterating: llama.cpp stops decoding
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()

    def warm_up(self, messages: list[ChatMessage]) -> None:
        """Evaluate `messages` once (one token generated) so their prefix is in the KV cache: the
        first question after start-up then pays only for what differs from them. Their state stays
        in the state cache (pinned) however many other prompts come."""
        for _ in self.stream_chat(messages, GenerationOptions(max_tokens=1, temperature=0.0), NEVER):
            pass
        with self._lock:
            self._cache.pin()

    def prompt_tokens_evaluated(self) -> int:
        """Prompt tokens llama.cpp evaluated in the last call (the rest came from its cache)."""
        import llama_cpp

        return int(llama_cpp.llama_perf_context(self._llm._ctx.ctx).n_p_eval)

    def complete_json(self, messages: list[ChatMessage], schema: dict, options: GenerationOptions,
                      cancel: CancelToken) -> str:
        """The reply constrained by a grammar made from `schema` (JSON); "" when cancelled."""
        return "".join(self.stream_chat(messages, options, cancel,
                                        response_format={"type": "json_object", "schema": schema}))

    def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            closer = getattr(llm, "close", None)
            if closer:
                closer()
