"""Grounded answers (answer/grounded.py) over the held-out DB: facts first, then guarded remarks.

The LLM here is a scripted stand-in: what a model says cannot be caused on cue with the real one,
and these tests are about what the answerer does with a given wording (the real SmolLM2 answers
through the same code in tests/pipeline)."""
from __future__ import annotations

import pytest

from labvoice.answer.grounded import GroundedAnswerer
from labvoice.cancel import CancelToken
from labvoice.knowledge.retriever import Retriever
from labvoice.style import Style

from tests.pipeline.faults import ScriptedChat

QUESTION = "Which run had the best validation accuracy on mnist?"


@pytest.fixture
def best_mnist(heldout_db) -> str:
    return max((r for r in heldout_db[1] if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])["run_id"]


def answerer(config, heldout_db, reply: str, *, facts_first: bool = True):
    config = config.replace(**{"paths.db": heldout_db[0], "llm.facts_first": facts_first})
    model = ScriptedChat.saying(reply)
    return GroundedAnswerer(Retriever.from_config(config, None), model, config.llm, config.pipeline), model


def test_facts_are_spoken_before_the_llm_is_asked(cpu_config, heldout_db, best_mnist):
    grounded, model = answerer(cpu_config, heldout_db, "Try more seeds on mnist to be sure.")
    stream = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken())
    pieces = iter(stream)
    first = next(pieces)
    assert model.prompts == []                  # the first piece did not wait for the LLM
    rest = list(pieces)
    result = stream.result
    assert best_mnist in result.display and best_mnist not in " ".join([first] + rest)
    assert result.text == " ".join([first] + rest)          # exactly what went to the synthesizer
    assert result.used_run_ids == (best_mnist,) and not result.fallback
    assert result.stamps["first_chunk"] < result.stamps["first_token"]


def test_a_remark_about_the_runs_is_added_after_the_facts(cpu_config, heldout_db, best_mnist):
    """A remark that adds a grounded fact the answer did not say (how many runs were compared)."""
    remark = "Only 12 candidates were compared."
    grounded, model = answerer(cpu_config, heldout_db, remark)
    result = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish()
    assert result.text.endswith(remark)
    assert best_mnist in result.display.split("Only 12")[0] and result.display.endswith(remark)
    prompt = model.prompts[0][-1].content
    assert "ANSWER: " in prompt and best_mnist in prompt    # the model knows the facts and what was said


@pytest.mark.parametrize("reply", ["I'm sure it's a lie. I'm sure it's a lie.",
                                   "The best run on mnist had the best validation accuracy.",
                                   "Try more seeds on mnist to be sure.",     # advice, no fact: not spoken
                                   "You've already said the answer to the question about the best run on mnist."])
def test_a_remark_that_is_off_topic_or_repeats_is_not_spoken(cpu_config, heldout_db, best_mnist, reply):
    grounded, _ = answerer(cpu_config, heldout_db, reply)
    result = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish()
    assert best_mnist in result.display and "lie" not in result.text and not result.fallback
    assert result.text.count("best validation accuracy") <= 1


def test_at_the_lowest_verbosity_the_facts_alone_answer(cpu_config, heldout_db, best_mnist):
    grounded, model = answerer(cpu_config, heldout_db, "Try more seeds on mnist to be sure.")
    result = grounded.answer(QUESTION, Style(verbosity=0.0), CancelToken()).finish()
    assert best_mnist in result.display and model.prompts == []


def test_without_facts_first_the_llm_phrases_and_a_bad_answer_falls_back(cpu_config, heldout_db, best_mnist):
    grounded, model = answerer(cpu_config, heldout_db, "I'm sure it's a lie.", facts_first=False)
    stream = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken())
    pieces = iter(stream)
    first = next(pieces)
    assert len(model.prompts) == 1              # the LLM was asked before anything was spoken
    result = stream.finish()
    assert result.fallback and best_mnist in result.display and "lie" not in result.text
    assert "ANSWER: " not in model.prompts[0][-1].content


def test_a_remark_that_reads_the_fact_lines_back_is_not_spoken(cpu_config, heldout_db, best_mnist):
    # SmolLM2 was seen saying the prompt's fact line back: "Runs by val_accuracy (descending) (on digits), 15 match: 1."
    plain, _ = answerer(cpu_config, heldout_db, "")
    fact_line = plain.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish().display.split(best_mnist)[0].strip()
    assert len(fact_line.split()) >= 4
    grounded, _ = answerer(cpu_config, heldout_db, fact_line)
    result = grounded.answer(QUESTION, Style(verbosity=0.4), CancelToken()).finish()
    assert fact_line not in result.text and best_mnist in result.display and not result.fallback
    assert any("repeats" in reason for reason in result.dropped)
