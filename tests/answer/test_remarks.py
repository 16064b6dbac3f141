"""Remarks after the facts say only what helps (answer/remarks.py): a remark is spoken only when it
adds a grounded fact not already said. Measured with the real SmolLM2 on fact questions: how many
remarks were spoken and how many of those said nothing new (checked here by its own rule: no number,
run id or DB name beyond what the spoken answer said)."""
from __future__ import annotations

import re

import pytest

from labvoice.answer.guard import Verdict
from labvoice.answer.grounded import GroundedAnswerer
from labvoice.answer.remarks import FactTokens, check_adds_fact, new_grounded_facts
from labvoice.cancel import CancelToken
from labvoice.knowledge.retriever import Retriever
from labvoice.llm.llama_cpp import LlamaCppChat
from labvoice.style import Style
from tests.knowledge.conftest import config, demo_db, demo_run  # noqa: F401

TOKENS = FactTokens(("val_accuracy", "validation accuracy", "learning_rate", "learning rate", "digits", "mlp"))
SAID = "The best run on digits is an MLP from today, at 97.8 percent validation accuracy."
FACTS = "1. 7f6e3c7e (mlp on digits, val_accuracy 0.977778, learning_rate 0.01); 6 match"


@pytest.mark.parametrize("remark", [
    "You've already said the answer to the question about the second best run on digits.",
    "You have already said that the runs that have the fastest validation accuracy range from digits.",
    "Try a few more seeds to be sure.",
    "It used a learning rate of 0.5.",            # a number the facts do not hold
])
def test_a_remark_that_adds_no_grounded_fact_is_not_spoken(remark):
    assert not check_adds_fact(Verdict(True), remark, SAID, FACTS, TOKENS).ok


def test_a_remark_with_a_new_grounded_fact_is_spoken():
    remark = "It trained with a learning rate of 0.01, the best of 6 runs."
    assert new_grounded_facts(remark, SAID, FACTS, TOKENS) == {"0.01", "6"}   # "learning rate": the facts write learning_rate
    assert check_adds_fact(Verdict(True), remark, SAID, FACTS, TOKENS).ok
    assert not check_adds_fact(Verdict(False, "off topic"), remark, SAID, FACTS, TOKENS).ok


QUESTIONS = ("Which run has the best validation accuracy on digits?", "What is the best run on wine by validation F1?",
             "How many runs are there on iris?", "Which learning rate did the best MLP on digits use?",
             "What is the average validation accuracy per dataset?", "Show the top 3 runs on breast cancer.",
             "What is the worst run on digits?", "Which model kind does best on average?",
             "How many random forest runs are there?", "What is the latest run?")


def _said_nothing(remark: str, template: str) -> bool:
    """An independent reading of "said nothing": no digit or word of four letters or more that the
    answer did not already say, or it talks about what was said."""
    if re.search(r"\balready (said|answered)\b|\bthe answer to the question\b", remark, re.I):
        return True
    heard = set(re.findall(r"[a-z0-9.]+", template.lower()))
    new = [w for w in re.findall(r"[a-z0-9.]+", remark.lower()) if w not in heard and (len(w) >= 4 or w[0].isdigit())]
    return not new


def test_remarks_spoken_by_the_real_llm_all_add_something(config, demo_db):
    cpu = config.replace(**{"paths.db": demo_db, "profile": "cpu", "llm.max_tokens": 48})
    chat = LlamaCppChat.from_config(cpu)
    try:
        grounded = GroundedAnswerer(Retriever.from_config(cpu, None), chat, cpu.llm, cpu.pipeline)
        spoken, empty, asked = 0, 0, 0
        for question in QUESTIONS:
            result = grounded.answer(question, Style(verbosity=0.8), CancelToken()).finish()
            template = result.retrieval.factset.templated_answer if result.retrieval else ""
            if not result.facts or not template:
                continue
            asked += 1
            remark = result.text[len(template):].strip() if result.text.startswith(template) else ""
            spoken += bool(remark)
            empty += bool(remark) and _said_nothing(remark, template)
    finally:
        chat.close()
    print(f"remarks: {asked} fact answers, {spoken} remarks spoken, {empty} said nothing")
    assert asked >= 8 and empty == 0


def _scripted_answerer(config, demo_db, reply: str) -> GroundedAnswerer:
    from tests.pipeline.faults import ScriptedChat

    cpu = config.replace(**{"paths.db": demo_db, "profile": "cpu"})
    return GroundedAnswerer(Retriever.from_config(cpu, None), ScriptedChat.saying(reply), cpu.llm, cpu.pipeline)


def test_the_result_keeps_the_remarks_spoken_and_those_refused(config, demo_db):
    """What the benchmark counts (scripts/bench.py --remarks): the remark pieces apart from the facts."""
    question = "How many runs are there on iris?"
    refused = _scripted_answerer(config, demo_db, "Try a few more seeds to be sure.").answer(
        question, Style(verbosity=1.0), CancelToken()).finish()
    assert refused.facts and refused.remarks == [] and refused.remarks_refused == ["Try a few more seeds to be sure."]
    assert "seeds" not in refused.text
    best = _scripted_answerer(config, demo_db, "").answer(
        "Which run has the best validation accuracy on iris?", Style(verbosity=1.0), CancelToken()).finish()
    compared = re.search(r"(\d+) match", best.facts[0]["text"]).group(1)   # the facts hold it, the answer does not say it
    assert compared not in best.text
    kept = _scripted_answerer(config, demo_db, f"Only {compared} runs on iris were compared.").answer(
        "Which run has the best validation accuracy on iris?", Style(verbosity=1.0), CancelToken()).finish()
    assert kept.remarks == [f"Only {compared} runs on iris were compared."] and kept.remarks_refused == [], (best.text, kept.dropped)
    assert kept.text == f"{best.text} {kept.remarks[0]}"
