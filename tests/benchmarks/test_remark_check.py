"""The independent count of remarks that said nothing new (labvoice/benchmarks/remark_check.py)."""
from __future__ import annotations

import pytest

from labvoice.benchmarks.remark_check import RemarkTally, judge_remark

SAID = "The best run on digits is an MLP from today, at 97.8 percent validation accuracy."
FACTS = ({"kind": "rank", "text": "1. 7f6e3c7e (mlp on digits, val_accuracy 0.977778); 6 runs compared",
          "spoken": SAID, "run_ids": ["7f6e3c7e9a"]},)
ROWS = ({"run_id": "7f6e3c7e9a", "dataset": "digits", "model_kind": "mlp",
         "values": {"val_accuracy": 0.977778, "learning_rate": 0.01}},)


@pytest.mark.parametrize("remark", [
    "You've already said the answer to the question about the second best run on digits.",
    "You have already said that the runs that have the fastest validation accuracy range from digits.",
    "Try a few more seeds to be sure.",
    "That is 97.8 percent, a strong result.",          # said already
    "It reached 0.978 on digits.",                      # the same value, written another way
])
def test_a_remark_without_a_new_grounded_token_said_nothing(remark):
    assert judge_remark(remark, SAID, FACTS, ROWS).said_nothing


def test_a_number_the_facts_do_not_hold_is_counted_as_invented():
    verdict = judge_remark("It used a learning rate of 0.5.", SAID, FACTS, ROWS)
    assert verdict.invented == ("0.5",) and "0.5" not in verdict.new


@pytest.mark.parametrize("remark, adds", [
    ("It trained with a learning rate of 0.01.", {"0.01", "learning rate"}),
    ("It was the best of 6 runs compared.", {"6"}),
    ("Its id is 7f6e.", {"7f6e"}),
])
def test_a_remark_with_a_new_grounded_token_adds_it(remark, adds):
    assert set(judge_remark(remark, SAID, FACTS, ROWS).new) == adds


def test_the_tally_counts_spoken_and_empty_remarks():
    tally = RemarkTally()
    tally.add(["It was the best of 6 runs compared."], SAID, FACTS, ROWS)
    tally.add(["Try a few more seeds to be sure."], SAID, FACTS, ROWS, refused=1)
    tally.add([], SAID, FACTS, ROWS, refused=2)
    report = tally.as_dict()
    assert (report["turns"], report["remarks_spoken"], report["said_nothing_new"], report["refused_by_checks"]) == \
        (3, 2, 1, 3)
