"""Tests for knowledge/vocab.py: how words in a (typed or transcribed) question map onto DB names."""
import pytest

from labvoice.knowledge.vocab import Vocabulary, question_tokens

VOCAB = Vocabulary(metrics=("val_acc", "train_loss"), datasets=("mnist", "fashion_mnist", "cifar10_small", "wine"),
                   model_kinds=("svm", "mlp"), params=("C",))


def datasets_in(question: str) -> list[str]:
    return VOCAB.match_datasets(question, question_tokens(question))


@pytest.mark.parametrize("question, expected", [
    ("best accuracy on mnist", ["mnist"]),
    ("best accuracy on fashion mnist", ["fashion_mnist"]),
    # How tiny.en writes the names it hears:
    ("best validation accuracy on MNIST.", ["mnist"]),
    ("best validation accuracy on M-MIST.", ["mnist"]),
    ("best validation accuracy on M NIST", ["mnist"]),
    ("best runs on CIFAR 10 small", ["cifar10_small"]),
    ("how many runs used fashion nnist?", ["fashion_mnist"]),
])
def test_dataset_names_match_as_typed_and_as_heard(question, expected):
    assert datasets_in(question) == expected


@pytest.mark.parametrize("question", [
    "best accuracy on emnist",        # a different dataset, one letter longer
    "best accuracy on cifar11 small",  # digits must agree
    "best accuracy on vine",           # short names get no one-letter slack
    "what is the weather like",
])
def test_near_misses_are_not_datasets(question):
    assert datasets_in(question) == []
