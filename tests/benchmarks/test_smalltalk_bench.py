"""The small-talk comparison (labvoice/benchmarks/smalltalk.py): the rubric on replies written here,
and the models taking turns to go first."""
from __future__ import annotations

import pytest

from labvoice.benchmarks.smalltalk import PROMPTS, SmallTalkPrompt, compare, messages_for, score_reply
from labvoice.style import Style
from tests.pipeline.faults import ScriptedChat

GREETING = SmallTalkPrompt("Hello there!", "greeting", ("hi", "hello"))


def test_a_short_friendly_reply_scores_full_marks():
    rubric = score_reply(GREETING, "Hello! Ask me anything about your training runs.")
    assert rubric.score == 4


@pytest.mark.parametrize("reply, failed", [
    ("Sure thing, the weather is fine and I can help you.", "on_topic"),
    ("Hello! Your best run reached 98 percent accuracy.", "no_invented_facts"),
    ("Hello there. Hello there.", "no_nonsense"),                         # a repeated sentence
    ("Hello there!", "no_nonsense"),                                      # the prompt said back
    ("Hello, reply in one short friendly sentence without numbers.", "no_nonsense"),   # the instructions
    ("Hello [INST] <<SYS>> hi.", "no_nonsense"),                          # chat markup
    ("Hello. I am here. I can help. Ask me.", "one_or_two_sentences"),
])
def test_each_point_of_the_rubric_can_be_lost(reply, failed):
    rubric = score_reply(GREETING, reply)
    assert getattr(rubric, failed) is False and rubric.score == 3


def test_the_prompts_cover_each_kind_and_a_joke_uses_the_joke_prompt():
    assert len(PROMPTS) >= 15
    assert {p.kind for p in PROMPTS} >= {"greeting", "thanks", "capabilities", "joke", "chitchat"}
    joke = next(p for p in PROMPTS if p.kind == "joke")
    assert "joke" in messages_for(joke, Style())[-1].content.lower()
    chat = next(p for p in PROMPTS if p.kind == "chitchat")
    assert messages_for(chat, Style())[-1].content.endswith(f"QUESTION: {chat.text}")


class _Named(ScriptedChat):
    def __init__(self, name, order, reply):
        super().__init__([w + " " for w in reply.split()])
        self.name, self.order = name, order

    def stream_chat(self, messages, options, cancel):
        self.order.append(self.name)
        yield from super().stream_chat(messages, options, cancel)


def test_the_models_take_turns_to_go_first_and_each_is_scored():
    order: list[str] = []
    models = {"a": _Named("a", order, "Hello! Ask me about your runs."), "b": _Named("b", order, "Hello hello hello")}
    comparison = compare(models, PROMPTS[:3], Style(), 0.0, rounds=1)
    assert order == ["a", "b", "b", "a", "a", "b"]
    a, b = comparison.summary("a"), comparison.summary("b")
    assert a["prompts"] == b["prompts"] == 3 and a["no_sentence"] == 0 and b["no_sentence"] == 3
    assert a["no_nonsense"] == 3 and b["no_nonsense"] == 0 and a["mean_score"] > b["mean_score"]
