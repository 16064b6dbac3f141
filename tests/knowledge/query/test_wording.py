"""Speech for the ear: metric names in words, three significant digits, percentages, "an MLP", no ids."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from labvoice.knowledge.query.wording import (article, dataset_words, for_ear, kind_words, metric_words,
                                              param_words, run_words, spoken_metric_value, spoken_number,
                                              word_variants)


@pytest.mark.parametrize("name,words", [("val_accuracy", "validation accuracy"), ("val_loss", "validation loss"),
                                        ("train_time", "training time"), ("val_acc", "validation accuracy"),
                                        ("eval_f1", "evaluation F1")])
def test_metric_names_in_words(name, words):
    assert metric_words(name) == words


def test_parameter_and_dataset_names():
    assert param_words("init_lr") == "initial learning rate"
    assert param_words("n_units_1") == "units in layer 1"
    assert param_words("n_epochs") == "number of epochs"
    assert dataset_words("naval_propulsion") == "naval propulsion"
    assert dataset_words("fashion_mnist") == "fashion MNIST"



def test_a_name_said_word_by_word_may_expand_some_parts_and_spell_others():
    said = word_variants("val_nll")
    assert {"val nll", "validation nll", "validation negative log likelihood"} <= said
    assert word_variants("seed") == {"seed"}
    assert len(word_variants("val_acc_top_lr_wd_nll", limit=5)) == 5

@pytest.mark.parametrize("kind,said", [("mlp", "an MLP"), ("svm", "an SVM"), ("cnn", "a CNN"),
                                       ("random_forest", "a random forest"), ("linear_svm", "a linear SVM"),
                                       ("logistic_regression", "a logistic regression"), ("perceptron", "a perceptron")])
def test_articles(kind, said):
    words = kind_words(kind)
    assert f"{article(words)} {words}" == said


@pytest.mark.parametrize("value,said", [(0.98064, "0.981"), (1234.5, "1230"), (0.0001, "0.0001"), (3e-05, "0.00003"),
                                        (250.0, "250"), (-0.5, "minus 0.5")])
def test_numbers_keep_three_significant_digits(value, said):
    assert spoken_number(value) == said


def test_percentages_where_natural():
    assert spoken_metric_value("val_accuracy", 0.98064) == "98.1 percent"
    assert spoken_metric_value("val_acc", 97.345, stored_as_percent=True) == "97.3 percent"
    assert spoken_metric_value("val_loss", 0.23456) == "0.235"


def test_runs_are_named_as_a_colleague_would():
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    said = run_words("mlp", "digits", now - timedelta(days=1), now, definite=False)
    assert said == "an MLP on digits from yesterday"
    text = for_ear("Run 4e768b79 has val_accuracy 0.9")
    assert "4e768b79" not in text and "_" not in text and not re.search(r"[0-9a-f]{8}", text)
