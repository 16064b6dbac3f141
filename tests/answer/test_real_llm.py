"""The answer paths that use the LLM, with the real bundled SmolLM2 (llama.cpp in-process): a joke
when asked, small talk, and remarks after the facts. Whatever the small model says, what is spoken
is fit for the ear, says no instruction back and makes no claim the facts do not hold."""
from __future__ import annotations

import pytest

from labvoice.answer.grounded import GroundedAnswerer
from labvoice.answer.prompt import SYSTEM_PROMPT, build_messages
from labvoice.answer.smalltalk import JOKES
from labvoice.answer.spoken import spoken_problems
from labvoice.cancel import CancelToken
from labvoice.knowledge.retriever import Retriever
from labvoice.llm.llama_cpp import LlamaCppChat
from labvoice.style import Style

DEFLECTIONS = ("i'm here to help", "training runs", "ask me about")


@pytest.fixture(scope="module")
def smollm2(cpu_config):
    chat = LlamaCppChat.from_config(cpu_config)
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def grounded(cpu_config, heldout_db, smollm2):
    # A short reply cap keeps the slow part (decoding on a shared 2-core machine) small.
    config = cpu_config.replace(**{"paths.db": heldout_db[0], "llm.max_tokens": 48})
    return GroundedAnswerer(Retriever.from_config(config, None), smollm2, config.llm, config.pipeline)


def _ask(grounded, question: str, style: Style):
    stream = grounded.answer(question, style, CancelToken())
    pieces = list(stream)
    return stream.result, pieces


def test_at_the_lowest_humour_a_built_in_dry_joke_is_told_without_the_llm(grounded):
    result, pieces = _ask(grounded, "Tell me a joke", Style(humour=0.0))
    assert pieces and result.text == " ".join(pieces)
    assert result.text in {text for play, text in JOKES if play == 0}
    assert "first_token" not in result.stamps, "the LLM was asked below LLM_JOKE_MIN_HUMOUR"


@pytest.fixture(scope="module")
def grounded_waiting_for_jokes(grounded):
    """Joke budget off (0: always wait for the LLM's joke), so the LLM's own joke is what is told:
    with the default 200 ms budget SmolLM2 on 2 cores (~450-500 ms) loses to a built-in one."""
    llm_config = grounded.llm_config.model_copy(update={"joke_budget_ms": 0})
    return GroundedAnswerer(grounded.retriever, grounded.chat_model, llm_config, grounded.pipeline_config)


def test_tell_me_a_joke_gets_the_llms_own_joke_with_the_budget_off(grounded_waiting_for_jokes):
    result, pieces = _ask(grounded_waiting_for_jokes, "Tell me a joke", Style(humour=1.0))
    assert pieces and result.text == " ".join(pieces)
    assert "first_token" in result.stamps, "the LLM was not asked"
    assert result.text not in {text for _, text in JOKES}, "a built-in joke was told, not the LLM's"
    assert not [d for d in result.dropped if "joke" in d], result.dropped
    low = result.text.lower()
    assert not any(d in low for d in DEFLECTIONS), result.text
    assert all(spoken_problems(p) == [] for p in pieces)


def test_small_talk_is_answered_and_fit_for_the_ear(grounded):
    result, pieces = _ask(grounded, "Hello, how are you today?", Style())
    assert pieces and all(spoken_problems(p) == [] for p in pieces)
    assert "sentences" not in result.text.lower()


def test_remarks_never_say_the_instruction_back(grounded, heldout_db):
    for question in ("Did something blow up during training?",):
        result, pieces = _ask(grounded, question, Style(verbosity=0.4))
        said = result.text.lower()
        assert "answer in" not in said and "short sentences" not in said, result.text
        assert all(spoken_problems(p, result.used_run_ids) == [] for p in pieces), pieces


def test_the_prompt_starts_with_the_same_system_prompt_every_turn(grounded):
    retriever = grounded.retriever
    firsts = set()
    for question in ("Which run had the best validation accuracy on mnist?", "hello", "How many runs used mnist?"):
        retrieval = retriever.retrieve(question)
        for messages in (build_messages(retrieval, Style(), [], 1),
                         build_messages(retrieval, Style(humour=1.0), [("q", "a")], 1, already_said="x",
                                        remark_sentences=2)):
            firsts.add((messages[0].role, messages[0].content))
    assert firsts == {("system", SYSTEM_PROMPT)}


def test_llama_cpp_writes_json_constrained_to_a_schema(smollm2):
    import json

    from labvoice.llm.base import ChatMessage, GenerationOptions

    schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
              "required": ["colour"], "additionalProperties": False}
    reply = smollm2.complete_json([ChatMessage("user", "Pick a colour.")], schema,
                                  GenerationOptions(max_tokens=30, temperature=0.0), CancelToken())
    assert json.loads(reply)["colour"] in ("red", "green", "blue")


def test_llama_cpp_reuses_the_stable_prefix_after_warm_up(grounded, smollm2, cpu_config):
    """After `warm_up` the joke request is cached whole, and a small-talk answer evaluates only
    what follows the shared system prompt (llama.cpp keeps the KV of the longest common prefix)."""
    from labvoice.answer.prompt import build_messages
    from labvoice.answer.smalltalk import joke_messages
    from labvoice.llm.base import ChatMessage, GenerationOptions

    def evaluated(messages, chat=smollm2) -> int:
        for _ in chat.stream_chat(messages, GenerationOptions(max_tokens=1, temperature=0.0), CancelToken()):
            pass
        return chat.prompt_tokens_evaluated()

    small_talk = build_messages(grounded.retriever.retrieve("hello"), Style(), [], 0)
    fresh = LlamaCppChat.from_config(cpu_config)           # nothing in its context or state cache
    try:
        cold = evaluated(small_talk, fresh)                # all of it
    finally:
        fresh.close()
    evaluated([ChatMessage("system", "Something else entirely."), ChatMessage("user", "Hi.")])  # nothing shared
    grounded.warm_up()
    assert evaluated(joke_messages(SYSTEM_PROMPT)) <= 2
    # The saved states stay small: only the last row of logits is kept (a full copy is ~200 KB per
    # prompt token and the cache's capacity does not count it).
    states = list(smollm2._llm.cache.cache_state.values())
    assert states and all(state.scores.shape[0] <= 1 for state in states)
    assert sum(state.llama_state_size + state.scores.nbytes for state in states) < 80 << 20     # the whole joke prompt was cached
    warm = evaluated(small_talk)                           # only the user part after the system prompt
    assert warm < cold - 30, (warm, cold)
    # Another prompt now fills the context; the joke request's state comes back from the RAM state
    # cache instead of its ~26 tokens being evaluated again.
    assert evaluated(joke_messages(SYSTEM_PROMPT)) <= 2
    # The saved states stay small: only the last row of logits is kept (a full copy is ~200 KB per
    # prompt token and the cache's capacity does not count it).
    states = list(smollm2._llm.cache.cache_state.values())
    assert states and all(state.scores.shape[0] <= 1 for state in states)
    assert sum(state.llama_state_size + state.scores.nbytes for state in states) < 80 << 20
    # However many other prompts come, the warmed joke request stays (pinned) and only the last
    # few others are kept beside it (llm/llama_cpp.py STATE_CACHE_RECENT).
    from labvoice.llm.llama_cpp import STATE_CACHE_BYTES, STATE_CACHE_RECENT, state_footprint

    for n in range(STATE_CACHE_RECENT + 3):
        evaluated([ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", f"Question number {n}, please.")])
    states = list(smollm2._llm.cache.cache_state.values())
    assert len(states) <= 1 + STATE_CACHE_RECENT and sum(map(state_footprint, states)) <= STATE_CACHE_BYTES
    assert evaluated(joke_messages(SYSTEM_PROMPT)) <= 2
