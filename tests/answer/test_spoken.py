"""The last check before the synthesizer (answer/spoken.py): no underscores, no full run ids, no
number with more than three significant digits; rewritten where possible, dropped otherwise."""
from __future__ import annotations

import pytest

from labvoice.answer.spoken import significant_digits, speakable, spoken_problems, year_words


@pytest.mark.parametrize("number, digits", [("0.9806", 4), ("0.981", 3), ("1500", 2), ("1,234", 4),
                                            ("95.10", 4), ("0.0001", 1), ("7", 1), ("100", 1), ("2026", 4)])
def test_significant_digits_as_written(number, digits):
    assert significant_digits(number) == digits


@pytest.mark.parametrize("text", [
    "Run 4e768b79 had val_accuracy 0.98061.",
    "The best learning_rate was 0.0012345 after 1,234 epochs.",
    "It was logged in 2026 with lr 3e-05 and 95.125% accuracy.",
    "Runs 0a1b2c3d and 9f8e7d6c tied at 0.97321.",
])
def test_rewritten_text_passes_its_own_check(text):
    said = speakable(text)
    assert said is not None and spoken_problems(said) == []
    assert "_" not in said


def test_names_ids_and_numbers_are_rewritten_for_the_ear():
    said = speakable("Run 4e768b79 had val_accuracy 0.98061.")
    assert "validation accuracy" in said and "0.981" in said
    assert "4e768b79" not in said and "4 e 7" in said      # a short handle, never all eight characters
    assert speakable("It took 1,234 epochs in 2026.") == "It took about 1230 epochs in twenty twenty-six."
    assert speakable("lr 3e-05") == "lr 3 times ten to the minus 5"
    assert speakable("loss 3e-09") == "loss 3 times ten to the minus 9"


def test_a_db_run_id_that_is_not_hex_is_also_shortened():
    said = speakable("Run mlp-digits-0042 did best.", run_ids=["mlp-digits-0042"])
    assert said is not None and "mlp-digits-0042" not in said


def test_clean_text_is_left_alone():
    text = "The MLP on digits from Tuesday reached 98.1 percent."
    assert speakable(text) == text and spoken_problems(text) == []


def test_problems_are_named():
    problems = spoken_problems("val_accuracy of 4e768b79 was 0.98061")
    assert "underscore" in problems and "full run id" in problems
    assert any("significant digits" in p for p in problems)


@pytest.mark.parametrize("year, words", [(2026, "twenty twenty-six"), (2005, "two thousand five"),
                                         (1999, "nineteen ninety-nine"), (1900, "nineteen hundred"),
                                         (2010, "twenty ten")])
def test_years_in_words(year, words):
    assert year_words(year) == words
