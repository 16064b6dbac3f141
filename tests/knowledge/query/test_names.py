"""Dataset and model names matched as people say them: the whole name, without namespace or size, a
family that fits several (kept together), one distinctive part, a family said without its last letters."""
from __future__ import annotations

from labvoice.knowledge.query.names import EXACT, FAMILY, PART, SPECIFIC, NameIndex

MODELS = NameIndex(("roberta-base", "roberta-large", "bert-base-uncased", "resnet18", "resnet50", "RandomForestClassifier",
                    "mobilenetv3_large_100", "microsoft/deberta-v3-base", "microsoft/deberta-v3-large"))
DATASETS = NameIndex(("glue/sst2", "glue/mrpc", "cifar10", "cifar100", "make_moons", "oxford_iiit_pet", "imagenet-1k"))


def hits(index: NameIndex, said: str):
    return [(h.names, h.level) for h in index.find(said.lower().split())]


def test_whole_names_and_names_without_namespace():
    assert hits(DATASETS, "on glue sst2") == [(("glue/sst2",), EXACT)]
    assert hits(DATASETS, "on sst 2") == [(("glue/sst2",), EXACT)]     # the name without its namespace
    assert hits(MODELS, "deberta v3 base runs") == [(("microsoft/deberta-v3-base",), EXACT)]
    assert hits(DATASETS, "imagenet 1k") == [(("imagenet-1k",), EXACT)]


def test_a_family_keeps_every_name_it_fits_and_size_words_narrow_it():
    assert hits(MODELS, "the best roberta run") == [(("roberta-base", "roberta-large"), FAMILY)] or \
        hits(MODELS, "the best roberta run") == [(("roberta-base", "roberta-large"), SPECIFIC)]
    assert hits(MODELS, "the large roberta")[0][0] == ("roberta-large",)
    assert hits(DATASETS, "cifar")[0][0] == ("cifar10", "cifar100")
    assert hits(DATASETS, "cifar 100") == [(("cifar100",), EXACT)]


def test_tool_words_parts_and_shortened_families():
    assert hits(DATASETS, "best run on moons") == [(("make_moons",), SPECIFIC)]
    assert hits(MODELS, "random forest") == [(("RandomForestClassifier",), SPECIFIC)]
    assert hits(DATASETS, "oxford pets") == [(("oxford_iiit_pet",), PART)]
    assert hits(MODELS, "mobilenet")[0][0] == ("mobilenetv3_large_100",)
    assert hits(MODELS, "bert runs") == [(("bert-base-uncased",), SPECIFIC)]     # not roberta, not distil-anything


def test_unrelated_words_match_nothing():
    assert hits(DATASETS, "which run had the best accuracy") == []
    assert hits(MODELS, "how many runs are there") == []
