"""The second held-out set of the lab suite (lab_heldout_fresh): its size, that every ground truth was
computed from the DB (no empty expectation), that it shares no wording with the first held-out set, and that
lab_score reports it as a split of its own. Its accuracy is not asserted: it measures, it does not gate."""
from __future__ import annotations

from pathlib import Path

from labvoice.evaluation.lab_dbs import CONVENTIONS
from labvoice.evaluation.lab_heldout import lab_heldout
from labvoice.evaluation.lab_heldout_fresh import SPLIT, lab_heldout_fresh
from labvoice.evaluation.lab_score import LabVerdict, summarize_lab


def _filled(expect: dict) -> bool:
    kind = expect.get("kind")
    if kind == "refuse":
        return True
    if kind == "any_of":
        return bool(expect["options"]) and all(_filled(o) for o in expect["options"])
    if kind == "top":
        return bool(expect["values"]) and all(v is not None for v in expect["values"])
    if kind == "ids":
        return bool(expect["ids"])
    if kind in ("groups", "per_group"):
        return len(expect["groups"]) >= 2
    if kind in ("value_in", "best_value_in"):
        return bool(expect["values"]) and all(v is not None for v in expect["values"])
    if kind == "ask_back":
        return len(expect["options"]) >= 2
    if kind == "group_top":
        return bool(expect["group"])
    return False


def _dbs(lab_dbs) -> dict[str, Path]:
    return {name: db.path for name, db in lab_dbs.items()}


def test_fresh_set_size_and_every_truth_computed(lab_dbs):
    questions = lab_heldout_fresh(_dbs(lab_dbs))
    assert len(questions) >= 30
    assert {q.db for q in questions} == set(CONVENTIONS)
    assert len({q.id for q in questions}) == len(questions)
    assert len({q.question.lower() for q in questions}) == len(questions)
    for q in questions:
        assert q.split == SPLIT and q.operator and q.question.strip(), q.id
        assert _filled(q.expect), (q.id, q.question, q.expect)
        if q.expect["kind"] != "refuse":
            assert q.uses, q.id
    refusals = [q for q in questions if q.operator in ("unbound", "ask_back")]
    assert 3 <= len(refusals) <= 5


def test_fresh_set_does_not_reuse_the_first_held_out_wordings(lab_dbs):
    dbs = _dbs(lab_dbs)
    old = {q.question.lower().strip(" ?.") for q in lab_heldout(dbs)}
    assert not [q.question for q in lab_heldout_fresh(dbs) if q.question.lower().strip(" ?.") in old]


def test_fresh_split_is_summarised_apart(lab_dbs):
    questions = lab_heldout_fresh(_dbs(lab_dbs))[:3]
    verdicts = [LabVerdict(q, i == 0, "", (), (), (), 1.0, 2.0, {}) for i, q in enumerate(questions)]
    summary = summarize_lab(verdicts)
    assert list(summary) == [SPLIT]
    assert summary[SPLIT]["questions"] == 3
