"""The ML vocabulary kept as data (knowledge/lexicon.yaml): what it says about names, and that a word
YAML would misread is refused."""
from __future__ import annotations

import pytest

from labvoice.knowledge.lexicon import LEXICON_FILE, lexicon, load_lexicon, merge_phrases, name_parts, name_tokens


def test_names_split_on_separators_case_and_digits():
    assert name_parts("eval/accuracy") == ["eval", "accuracy"]
    assert name_parts("valAcc") == ["val", "acc"]
    assert name_parts("resnet50") == ["resnet", "50"]
    assert name_parts("val_f1") == ["val", "f1"]
    assert name_tokens("per_device_train_batch_size") == ("per", "device", "train", "batch_size")
    assert name_tokens("learning_rate") == ("lr",) and name_tokens("param_C") == ("c",)
    assert name_tokens("eval_loss") == ("val", "loss") and name_tokens("num_train_epochs") == ("n", "train", "epoch")


@pytest.mark.parametrize("metric", ["val_logloss", "brier_score", "eval_ece", "fid", "eer", "kl_div", "train_runtime",
                                    "rank_test_score", "eval_mse", "val_loss_epoch"])
def test_minimised_metrics_are_known_to_be_lower_is_better(metric):
    assert lexicon().direction(metric) == (True, True)


@pytest.mark.parametrize("metric", ["eval_accuracy", "val/acc", "mean_test_score", "eval_pearson", "val_acc1", "bleu"])
def test_maximised_metrics_are_known_to_be_higher_is_better(metric):
    assert lexicon().direction(metric) == (False, True)


def test_an_unknown_metric_is_a_guess():
    assert lexicon().direction("zorp_index") == (False, False)


def test_time_units_of_metric_names():
    assert lexicon().metric_unit("train_runtime").name == "seconds"
    assert lexicon().metric_unit("epoch_time_min").name == "minutes"
    assert lexicon().metric_unit("latency_ms").name == "milliseconds"
    assert lexicon().metric_unit("val_loss_min") is None        # "min" alone is no unit


def test_phrases_become_one_token():
    tokens = [tok for tok, _, _ in merge_phrases("did it run out of memory".split())]
    assert tokens == ["did", "it", "oom"]
    assert [tok for tok, _, _ in merge_phrases(["learning", "rate"])] == ["lr"]


def test_every_word_is_text_and_a_bare_yaml_boolean_is_refused(tmp_path):
    lex = lexicon()
    assert {"on", "no", "off"} <= lex.filler
    bad = tmp_path / "lexicon.yaml"
    bad.write_text(LEXICON_FILE.read_text(encoding="utf-8").replace("filler: [", "filler: [yes, "), encoding="utf-8")
    with pytest.raises(ValueError, match="filler"):
        load_lexicon(bad)
