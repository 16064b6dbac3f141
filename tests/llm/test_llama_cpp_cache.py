"""The llama.cpp state cache is bounded where it lives: whatever prompts come, it holds the warmed
prompts' states and at most STATE_CACHE_RECENT others, never more than STATE_CACHE_BYTES in all
(KV bytes, logits rows and token ids counted), and each saved state keeps one row of logits, not
one per prompt token (the soak's old leak)."""
from __future__ import annotations

import numpy as np
from llama_cpp.llama import LlamaState

from labvoice.llm.llama_cpp import STATE_CACHE_BYTES, STATE_CACHE_RECENT, _compact_state_cache, state_footprint

N_VOCAB = 49_152          # SmolLM2's vocabulary: one logits row is 192 KiB
N_CTX = 2048
KV_BYTES = 4 << 20        # a facts prompt's KV state is ~4 MB
ONE = KV_BYTES + N_VOCAB * 4 + N_CTX * 4
JOKE = (1, 2, 3, 99)


def _state(prompt_tokens: int, kv_bytes: int = KV_BYTES) -> LlamaState:
    return LlamaState(input_ids=np.zeros(N_CTX, dtype=np.intc),
                      scores=np.zeros((prompt_tokens, N_VOCAB), dtype=np.single),
                      n_tokens=prompt_tokens, llama_state=bytes(kv_bytes), llama_state_size=kv_bytes, seed=0)


def test_the_state_cache_holds_the_warmed_prompt_and_the_last_few_however_many_prompts_come():
    cache = _compact_state_cache(STATE_CACHE_BYTES)
    cache[JOKE] = _state(prompt_tokens=40)
    cache.pin()                                          # as LlamaCppChat.warm_up does after it
    for turn in range(STATE_CACHE_RECENT + 40):          # N + k distinct prompts
        cache[(1, 2, 3, 1000 + turn)] = _state(prompt_tokens=120 + turn)
        assert len(cache.cache_state) <= 1 + STATE_CACHE_RECENT and cache.cache_size <= STATE_CACHE_BYTES
    newest = [(1, 2, 3, 1000 + t) for t in range(40, STATE_CACHE_RECENT + 40)]
    assert list(cache.cache_state) == [JOKE] + newest    # the warmed prompt stays; the least recent others went
    assert all(state.scores.shape == (1, N_VOCAB) for state in cache.cache_state.values())
    assert cache.cache_size == sum(state_footprint(s) for s in cache.cache_state.values()) == 4 * ONE
    assert cache[(1, 2, 3, 99, 7, 7)] is cache.cache_state[JOKE]   # the joke request still restores its prefix


def test_the_byte_capacity_holds_even_when_states_are_large():
    cache = _compact_state_cache(STATE_CACHE_BYTES)
    big = STATE_CACHE_BYTES // 2                         # two of them do not fit with their logits and ids
    for turn in range(10):
        cache[(5, turn)] = _state(prompt_tokens=300, kv_bytes=big)
        assert cache.cache_size <= STATE_CACHE_BYTES
    assert list(cache.cache_state) == [(5, 9)]
