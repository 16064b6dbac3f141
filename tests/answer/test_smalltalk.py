"""Small talk answered, not deflected (answer/smalltalk.py): jokes by the humour slider, what it can
do with an example of each kind of question, and the plain answer to what no query can express."""
from __future__ import annotations

import pytest

from labvoice.answer.smalltalk import (CANT_WORK_OUT, JOKE_PROMPT, JOKES, JokeTeller, builtin_joke, cant_work_out, capabilities,
                                       capabilities_answer, is_capability_question, is_joke_request, play_level,
                                       usable_joke)
from labvoice.answer.spoken import spoken_problems


@pytest.mark.parametrize("text", ["Tell me a joke", "tell me a joke about GPUs", "Do you know any jokes?",
                                  "make me laugh", "got something funny?"])
def test_joke_requests(text):
    assert is_joke_request(text)


@pytest.mark.parametrize("text", ["Which run had the best accuracy?", "Did anything blow up during training?"])
def test_run_questions_are_not_joke_requests(text):
    assert not is_joke_request(text) and not is_capability_question(text)


@pytest.mark.parametrize("text", ["What can you do?", "what kind of questions can I ask", "help", "How can you help?"])
def test_capability_questions(text):
    assert is_capability_question(text)


def test_the_humour_slider_sets_the_play():
    assert play_level(0.0) == 0 and play_level(0.5) == 1 and play_level(1.0) == 2
    dry = {text for play, text in JOKES if play == 0}
    silly = {text for play, text in JOKES if play == 2}
    assert builtin_joke(0.0, turn=1) in dry and builtin_joke(1.0, turn=1) in silly
    assert len({builtin_joke(0.5) for _ in range(4)}) == 4    # asked again, a different joke


def test_every_builtin_joke_is_fit_to_speak():
    for _, text in JOKES:
        assert spoken_problems(text) == [] and usable_joke(text) == text


@pytest.mark.parametrize("reply", [
    "Why did the computer go to the doctor? Because it had a virus!",
    "I told my computer a joke. It did not laugh, but it did reboot.",
])
def test_a_short_joke_from_the_llm_is_used(reply):
    assert usable_joke(reply) == reply


@pytest.mark.parametrize("reply", [
    "",
    "Sure! Here is a joke:",                                       # no joke
    JOKE_PROMPT,                                                    # the prompt said back
    "I'm sorry, as an AI I cannot tell jokes.",                     # a refusal
    "Why did the model overfit?",                                   # a set-up without its punchline
    "Joke: " + "the model " * 40 + ".",                            # rambling
    "Run 4e768b79 is the funniest run with 0.9806 accuracy.",      # claims about runs
])
def test_what_is_not_a_usable_joke(reply):
    assert usable_joke(reply) is None


def test_capabilities_name_each_kind_with_an_example():
    pairs = capabilities(metric="validation accuracy", dataset="digits", kind="MLP", param="learning rate")
    display, spoken = capabilities_answer(pairs)
    assert len(pairs) >= 6
    for kind, example in pairs:
        assert kind in display and example in display
    assert "digits" in spoken and spoken_problems(spoken) == []


def test_cant_work_it_out_says_what_it_can_do():
    display, spoken = cant_work_out(capabilities(), reason="no query shape for causes")
    assert spoken.startswith(CANT_WORK_OUT) and "For example" in spoken
    assert "no query shape for causes" in display and "no query shape" not in spoken


def test_every_query_shape_is_offered():
    from labvoice.answer.smalltalk import CAPABILITIES
    from labvoice.knowledge.query.model import SHAPES

    assert {shape for c in CAPABILITIES for shape in c.shapes} == set(SHAPES)


def _tell(reply: str) -> list[list[str]]:
    """What a JokeTeller hands out as `reply` streams in word by word, then at the end."""
    teller, told = JokeTeller(), []
    words = reply.split(" ")
    for i, word in enumerate(words):
        told.append(teller.feed(word if i == len(words) - 1 else word + " "))
    told.append(teller.finish())
    return [batch for batch in told if batch]


def test_a_streamed_joke_is_told_sentence_by_sentence_the_set_up_as_soon_as_it_is_whole():
    assert _tell("I told my computer a joke. It did not laugh, but it did reboot.") == [
        ["I told my computer a joke."], ["It did not laugh, but it did reboot."]]
    # The set-up goes out while the punchline is still being written, as a person tells it.
    assert _tell("Why did the computer go to the doctor? Because it had a virus!") == [
        ["Why did the computer go to the doctor?"], ["Because it had a virus!"]]


@pytest.mark.parametrize("reply", [
    "Why did the computer go to the doctor?",                                 # the stream ends there
    "Why did the computer go to the doctor? Run 4e768b79 had 0.9806 accuracy.",  # the punchline spoils it
])
def test_a_set_up_left_without_its_punchline_is_owned_up_to(reply):
    teller = JokeTeller()
    for word in reply.split(" "):
        teller.feed(word + " ")
        if teller.done:
            break
    else:
        teller.finish()
    assert teller.told == ["Why did the computer go to the doctor?"] and teller.hanging


def test_a_whole_joke_is_not_hanging():
    teller = JokeTeller()
    for word in "Why did the computer go to the doctor? Because it had a virus!".split(" "):
        teller.feed(word + " ")
    teller.finish()
    assert len(teller.told) == 2 and not teller.hanging


@pytest.mark.parametrize("reply", [
    "Sure! I can tell you a joke about the runs on mnist",            # never a usable joke
    "Why did the model overfit?",                                      # a set-up without its punchline
    "I'm sorry, as an AI I cannot tell jokes.",
])
def test_a_streamed_reply_that_is_no_joke_tells_nothing(reply):
    assert _tell(reply) == []


def test_a_streamed_joke_stops_at_the_sentence_that_would_spoil_it():
    told = _tell("I told my computer a joke. It did not laugh. Run 4e768b79 had 0.9806 accuracy. Ha ha ha ha.")
    assert told == [["I told my computer a joke."], ["It did not laugh."]]
