"""The llama.cpp state cache is bounded where it lives: whatever prompts come, it never holds more
than STATE_CACHE_BYTES of states (KV bytes, logits rows and token ids counted), and each saved
state keeps one row of logits, not one per prompt token (the soak's old leak)."""
from __future__ import annotations

import numpy as np
from llama_cpp.llama import LlamaState

from labvoice.llm.llama_cpp import STATE_CACHE_BYTES, _compact_state_cache, state_footprint

N_VOCAB = 49_152          # SmolLM2's vocabulary: one logits row is 192 KiB
N_CTX = 2048
KV_BYTES = 3 << 20        # a facts prompt's KV state is ~2.7 MB


def _state(prompt_tokens: int) -> LlamaState:
    return LlamaState(input_ids=np.zeros(N_CTX, dtype=np.intc),
                      scores=np.zeros((prompt_tokens, N_VOCAB), dtype=np.single),
                      n_tokens=prompt_tokens, llama_state=bytes(KV_BYTES), llama_state_size=KV_BYTES, seed=0)


def test_the_state_cache_never_holds_more_than_its_capacity_however_many_prompts_come():
    cache = _compact_state_cache(STATE_CACHE_BYTES)
    one = KV_BYTES + N_VOCAB * 4 + N_CTX * 4
    fits = STATE_CACHE_BYTES // one
    for turn in range(fits + 40):                       # N + k distinct prompts
        cache[(1, 2, 3, turn, turn + 1)] = _state(prompt_tokens=120 + turn)
        assert cache.cache_size <= STATE_CACHE_BYTES
    assert len(cache.cache_state) == fits
    assert all(state.scores.shape == (1, N_VOCAB) for state in cache.cache_state.values())
    assert cache.cache_size == sum(state_footprint(s) for s in cache.cache_state.values()) == fits * one
    newest = (1, 2, 3, fits + 39, fits + 40)
    assert newest in cache.cache_state and (1, 2, 3, 0, 1) not in cache.cache_state   # least recent dropped
