"""A reply to "cifar10 or cifar100?" picks one option, and the question is asked again with it."""
from __future__ import annotations

import pytest

from labvoice.knowledge.query.followup import chosen, complete, correction
from labvoice.knowledge.query.model import Clarify

CIFAR = Clarify(question="What's the best run on CIFAR?", said="cifar", options=("cifar10", "cifar100"))
ROBERTA = Clarify(question="best roberta on imdb", said="roberta", options=("roberta-base", "roberta-large"),
                  kind="model")
BATCH = Clarify(question="which batch size works best", said="batch size", kind="param",
                options=("per_device_train_batch_size", "per_device_eval_batch_size"))


@pytest.mark.parametrize("pending, reply, option", [
    (CIFAR, "cifar 100", "cifar100"), (CIFAR, "CIFAR-10 please", "cifar10"), (CIFAR, "the 100 one", "cifar100"),
    (CIFAR, "the first", "cifar10"), (ROBERTA, "the large one", "roberta-large"), (ROBERTA, "base", "roberta-base"),
    (BATCH, "the training one", "per_device_train_batch_size"), (BATCH, "eval", "per_device_eval_batch_size"),
])
def test_a_reply_picks_one_option(pending, reply, option):
    assert chosen(pending, reply) == option


@pytest.mark.parametrize("reply", ["how many runs are there on mnist last week and why did they fail", "either",
                                   "what's the weather"])
def test_a_new_question_picks_nothing(reply):
    assert chosen(CIFAR, reply) is None and complete(CIFAR, reply) is None


def test_the_question_is_completed_where_the_words_stood():
    assert complete(CIFAR, "the 100 one") == "What's the best run on cifar100?"
    assert complete(ROBERTA, "large") == "best roberta-large on imdb"


@pytest.mark.parametrize("reply, said", [("no, I said cifar 100", "cifar 100"), ("Nope. I meant the large roberta", "the large roberta"),
                                         ("I was asking about sst 2!", "sst 2"), ("which run is best", None),
                                         ("what did I say about the learning rate", None)])
def test_a_correction_says_what_was_meant(reply, said):
    assert correction(reply) == said
