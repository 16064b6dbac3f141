"""Claims checked as claims (answer/claims.py): a value said about a run must be that run's value."""
from __future__ import annotations

import pytest

from labvoice.answer.claims import ClaimChecker, said_numbers
from labvoice.knowledge.query.model import Claim, Row

A, B, C = "4e768b79", "0a1b2c3d", "9f8e7d6c"


@pytest.fixture
def checker() -> ClaimChecker:
    claims = [Claim(A, "metric:val_accuracy", 0.9806), Claim(A, "param:learning_rate", 0.001),
              Claim(B, "metric:val_accuracy", 0.9512), Claim(B, "param:learning_rate", 0.01)]
    rows = [Row(run_id=A, dataset="digits", model_kind="mlp", values=(("val_accuracy", 0.9806),)),
            Row(run_id=B, dataset="digits", model_kind="svm", values=(("val_accuracy", 0.9512),)),
            Row(group="mlp", run_ids=(A,), values=(("mean", 0.9731),))]
    return ClaimChecker(claims, rows, result_texts=["2 runs on digits."], known_run_ids=[A, B, C])


@pytest.mark.parametrize("sentence", [
    f"Run {A} reached 0.981 validation accuracy.",
    f"Run {A} reached 98.1% validation accuracy.",
    f"{A} used a learning rate of 0.001, while {B} used 0.01.",
    "The MLP on digits reached 98.1 percent.",
    "The MLP group averaged 0.973.",
    "Run 4 e 7 had a validation accuracy of 0.9806.",
])
def test_true_claims_pass(checker, sentence):
    verdict = checker.check(sentence)
    assert verdict.ok, verdict.problem


def test_run_a_with_run_bs_value_fails(checker):
    verdict = checker.check(f"Run {A} reached 0.951 validation accuracy.")
    assert not verdict.ok and B in verdict.problem and A in verdict.problem


def test_the_mlp_with_the_svms_value_fails(checker):
    assert not checker.check("The MLP on digits reached 95.1 percent.").ok


def test_a_value_of_the_wrong_field_fails(checker):
    # 0.01 is B's learning rate, not A's, and not any accuracy.
    assert not checker.check(f"Run {A} used a learning rate of 0.01.").ok


def test_a_number_only_in_the_question_grounds_nothing(checker):
    verdict = checker.check("Runs above 0.99 are rare.", question="Which runs are above 0.99?")
    assert not verdict.ok and "only in the question" in verdict.problem


def test_an_invented_number_about_no_run_fails(checker):
    assert not checker.check("Accuracy usually tops out near 0.87.").ok


def test_small_whole_numbers_are_free(checker):
    assert checker.check("Try 3 more seeds.").ok


def test_ids_and_dates_are_not_numbers():
    numbers = said_numbers(f"Run {A} on 2026-11-30T10:00:00Z scored 0.5 and 95%")
    assert [n.readings[0][0] for n in numbers] == [0.5, 95.0]
    assert numbers[1].readings[1] == (0.95, 2)
