"""What is answered how (answer/grounded.py): small talk answered, run questions no query expresses
get the plain "can't work that out", remarks that say the prompt back are not spoken, and every
spoken piece is fit for the ear while the display keeps full ids.

The LLM is a scripted stand-in here (what a model says cannot be caused on cue with the real one);
the real SmolLM2 answers through the same code in tests/pipeline and tests/answer/test_real_llm.py."""
from __future__ import annotations

import json
import sqlite3

import pytest

from labvoice.answer.grounded import GroundedAnswerer
from labvoice.answer.result import Conversation
from labvoice.answer.smalltalk import CANT_WORK_OUT, JOKES, LOST_PUNCHLINE
from labvoice.answer.spoken import spoken_problems
from labvoice.cancel import CancelToken
from labvoice.evaluation.suite_dbs import SCHEMA
from labvoice.knowledge.retriever import Retriever
from labvoice.style import Style
from tests.pipeline.faults import ScriptedChat

BUILTIN = {text for _, text in JOKES}


def answerer(config, heldout_db, reply: str):
    config = config.replace(**{"paths.db": heldout_db[0]})
    model = ScriptedChat.saying(reply)
    return GroundedAnswerer(Retriever.from_config(config, None), model, config.llm, config.pipeline), model


def ask(grounded, question: str, style: Style = Style(verbosity=0.4)):
    stream = grounded.answer(question, style, CancelToken())
    pieces = list(stream)
    return stream.result, pieces


def test_a_joke_is_told_when_asked(cpu_config, heldout_db):
    joke = "Why did the GPU sit alone at lunch? It could not find a compatible driver."
    grounded, model = answerer(cpu_config, heldout_db, joke)
    result, pieces = ask(grounded, "Tell me a joke", Style(humour=0.6))
    assert result.text == joke and len(model.prompts) == 1
    assert "training runs" not in result.text          # not a deflection


def test_a_set_up_whose_punchline_never_comes_is_owned_up_to(cpu_config, heldout_db):
    grounded, _ = answerer(cpu_config, heldout_db, "Why did the GPU sit alone at lunch?")
    result, pieces = ask(grounded, "Tell me a joke", Style(humour=0.6))
    assert pieces == ["Why did the GPU sit alone at lunch?", LOST_PUNCHLINE]
    assert result.text == " ".join(pieces)


def test_a_joke_the_llm_is_slow_to_write_gives_way_to_a_builtin_one(cpu_config, heldout_db):
    """llm.joke_budget_ms: no first sentence within the budget, so a built-in joke is told
    rather than a silence (a slow model on a loaded CPU); without a budget the LLM's is waited for."""
    joke = "Why did the GPU sit alone at lunch? It could not find a compatible driver."
    config = cpu_config.replace(**{"paths.db": heldout_db[0], "llm.joke_budget_ms": 100})
    slow = ScriptedChat.saying(joke, seconds_per_token=0.05)          # first sentence after ~450 ms
    grounded = GroundedAnswerer(Retriever.from_config(config, None), slow, config.llm, config.pipeline)
    result, _ = ask(grounded, "Tell me a joke", Style(humour=0.6))
    assert result.text in BUILTIN and any("not ready within 100 ms" in d for d in result.dropped)
    patient = config.replace(**{"llm.joke_budget_ms": 0})
    grounded = GroundedAnswerer(Retriever.from_config(patient, None), ScriptedChat.saying(joke, 0.05), patient.llm,
                                patient.pipeline)
    result, _ = ask(grounded, "Tell me a joke", Style(humour=0.6))
    assert result.text == joke


def test_a_rambling_llm_joke_is_replaced_by_a_builtin_one(cpu_config, heldout_db):
    grounded, _ = answerer(cpu_config, heldout_db, "Sure! I can tell you a joke about the runs on mnist")
    result, _ = ask(grounded, "tell me a joke", Style(humour=0.6))
    assert result.text in BUILTIN and result.dropped


def test_at_the_lowest_humour_a_dry_builtin_joke_without_the_llm(cpu_config, heldout_db):
    grounded, model = answerer(cpu_config, heldout_db, "unused")
    result, _ = ask(grounded, "Tell me a joke", Style(humour=0.0))
    assert result.text in {text for play, text in JOKES if play == 0} and model.prompts == []


def test_what_can_you_do_lists_kinds_of_question_with_examples(cpu_config, heldout_db):
    grounded, model = answerer(cpu_config, heldout_db, "unused")
    result, pieces = ask(grounded, "What can you do?")
    assert "for example" in result.text.lower() and model.prompts == []
    assert result.display.count("for example") >= 6 and spoken_problems(result.text) == []
    assert "mnist" in result.display.lower() or "cifar" in result.display.lower()   # the DB's own names


def test_a_run_question_no_query_can_answer_gets_no_llm_answer(cpu_config, heldout_db):
    grounded, model = answerer(cpu_config, heldout_db, "The dataset is the one with the most features.")
    result, _ = ask(grounded, "Why did my runs get worse after I changed the data pipeline?")
    if result.shape != "unsupported":
        pytest.fail(f"the parser answered this with a {result.shape} query: {result.query}")
    assert result.text.startswith(CANT_WORK_OUT) and model.prompts == []
    assert "For example" in result.text


def test_a_remark_that_says_the_instruction_back_is_not_spoken(cpu_config, heldout_db):
    grounded, _ = answerer(cpu_config, heldout_db, "Did something blow up during training? Answer in 2 short sentences.")
    result, pieces = ask(grounded, "Did something blow up during training?")
    assert "Answer in" not in result.text and "Did something blow up" not in result.text
    assert pieces and all(spoken_problems(p) == [] for p in pieces)


def test_every_spoken_piece_is_fit_for_the_ear_and_the_display_keeps_the_ids(cpu_config, heldout_db):
    rows = heldout_db[1]
    best = max((r for r in rows if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])
    remark = f"Run {best['run_id']} used val_accuracy {best['val_acc']:.5f} as its headline."
    grounded, _ = answerer(cpu_config, heldout_db, remark)
    result, pieces = ask(grounded, "Which run had the best validation accuracy on mnist?")
    assert pieces and all(spoken_problems(p, [best["run_id"]]) == [] for p in pieces)
    assert result.text == " ".join(pieces)
    assert best["run_id"] in result.display


def _cifar_answerer(cpu_config, tmp_path) -> GroundedAnswerer:
    """Four runs, two on cifar10 and two on cifar100 (best 93 and 74 percent)."""
    db = tmp_path / "runs.db"
    conn = sqlite3.connect(db)
    conn.execute(SCHEMA)
    for i, (dataset, acc) in enumerate([("cifar10", 0.91), ("cifar10", 0.93), ("cifar100", 0.71), ("cifar100", 0.74)]):
        conn.execute("INSERT INTO manifests (run_id, timestamp, dataset_id, params_json, final_metrics_json) "
                     "VALUES (?, ?, ?, ?, ?)", (f"ab{i}c{i}d{i}e", f"2026-11-2{i}T10:00:00+00:00", dataset,
                                                json.dumps({"model": "cnn", "lr": 0.1}), json.dumps({"val_acc": acc})))
    conn.commit()
    conn.close()
    config = cpu_config.replace(**{"paths.db": db})
    return GroundedAnswerer(Retriever.from_config(config, None), ScriptedChat.saying("That is a great question about your runs."),
                            config.llm, config.pipeline)


def test_a_question_back_is_said_alone_and_the_reply_completes_the_question(cpu_config, tmp_path):
    """"cifar" fits two datasets: the answer asks which (no remark after it, no run named), and the
    next utterance, "the 100 one", is answered as the first question about cifar100."""
    grounded = _cifar_answerer(cpu_config, tmp_path)
    conversation = Conversation()
    stream = grounded.answer("Which run has the best validation accuracy on cifar?", Style(), CancelToken(), conversation)
    pieces = list(stream)
    assert pieces == ["Do you mean CIFAR 10 or CIFAR 100?"] and not stream.result.used_run_ids
    conversation.remember(stream.result.question, " ".join(pieces), stream.result.retrieval, False)
    stream = grounded.answer("the 100 one", Style(), CancelToken(), conversation)
    list(stream)
    assert stream.result.used_run_ids == ("ab3c3d3e",) and "74 percent" in stream.result.text


def test_no_i_said_corrects_the_name_of_the_last_question(cpu_config, tmp_path):
    """A misheard name is corrected by saying the right one: the last question is asked again with it."""
    grounded = _cifar_answerer(cpu_config, tmp_path)
    conversation = Conversation()
    for said, run_id, value in [("Which run has the best validation accuracy on cifar 10?", "ab1c1d1e", "93 percent"),
                                ("no, I said cifar 100", "ab3c3d3e", "74 percent"),
                                ("No I meant cifar ten", "ab1c1d1e", "93 percent"),
                                # a new question that starts like a correction is answered as itself
                                ("I mean, what is the worst validation accuracy on cifar 100?", "ab2c2d2e", "71 percent")]:
        stream = grounded.answer(said, Style(), CancelToken(), conversation)
        pieces = list(stream)
        assert stream.result.used_run_ids[:1] == (run_id,) and value in stream.result.text, (said, pieces)
        conversation.remember(said, " ".join(pieces), stream.result.retrieval, False)
