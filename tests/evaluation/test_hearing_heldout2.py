"""The second held-out spoken check (evaluation/hearing_heldout2.py) is apart from every other voice and question
set: the rig's, its references, the first held-out check's and the lab suites' (issue 19)."""
from __future__ import annotations

import re
from collections import Counter

from labvoice.evaluation.hearing import QUESTIONS
from labvoice.evaluation.hearing_heldout import HELDOUT_QUESTIONS, HELDOUT_VOICES
from labvoice.evaluation.hearing_heldout2 import HELDOUT2_QUESTIONS, HELDOUT2_VOICES
from labvoice.evaluation.hearing_voices import REFERENCE_VOICES, VOICES
from labvoice.evaluation.lab_dbs import CONVENTIONS

RUN = 6     # words in a row that two questions may not share


def _runs(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}


def _apart(texts: list[str]) -> list[str]:
    """The second held-out questions equal to one of `texts` or sharing RUN words in a row with one."""
    theirs = {t.lower().strip() for t in texts}
    runs = set().union(*(_runs(t) for t in texts))
    return [q.text for q in HELDOUT2_QUESTIONS if q.text in theirs or _runs(q.text) & runs]


def test_heldout2_voices_are_no_other_set_voices():
    others = VOICES + REFERENCE_VOICES + HELDOUT_VOICES
    assert len(HELDOUT2_VOICES) == 5
    assert not {v.espeak for v in HELDOUT2_VOICES} & {v.espeak for v in others}
    assert not {v.name for v in HELDOUT2_VOICES} & {v.name for v in others}
    assert all(v.engine == "espeak" and 130 <= v.speed <= 190 for v in HELDOUT2_VOICES)


def test_heldout2_questions_are_ten_per_db_and_no_other_set_questions():
    assert Counter(q.db for q in HELDOUT2_QUESTIONS) == {db: 10 for db in CONVENTIONS}
    assert len({q.text for q in HELDOUT2_QUESTIONS}) == 60
    assert _apart([q.text for q in QUESTIONS + HELDOUT_QUESTIONS]) == []


def test_heldout2_questions_copy_no_lab_suite_wording(lab_dbs):
    from labvoice.evaluation.lab_heldout import lab_heldout
    from labvoice.evaluation.lab_heldout_fresh import lab_heldout_fresh
    from labvoice.evaluation.lab_suite import lab_suite

    dbs = {name: db.path for name, db in lab_dbs.items()}
    assert _apart([q.question for q in lab_suite(dbs) + lab_heldout(dbs) + lab_heldout_fresh(dbs)]) == []
