"""How people say the names of the lab suite's DBs (issue 17): for each DB, the words a user would use for its
datasets, models, model families, metrics and parameters, and how numbers are spoken. That is knowledge
about the DBs and about people, for writing questions; the parser must not read it (it learns names from
the DB itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Said:
    metric_said: tuple[str, ...]                    # the DB's headline metric (lab_dbs.Convention.metric)
    loss: str                                       # a minimised metric every run records
    loss_said: tuple[str, ...]
    params: dict[str, tuple[str, ...]]              # numeric parameters -> how they are said
    datasets: dict[str, tuple[str, ...]]
    models: dict[str, tuple[str, ...]]
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)   # a family word -> its models
    metrics: dict[str, tuple[str, ...]] = field(default_factory=dict)    # other metrics -> how they are said
    percent: bool = False                           # the headline metric is stored in percent
    runtime: str | None = None                      # a time metric (seconds), for speed and duration words
    subsets: dict[str, str] = field(default_factory=dict)   # dataset -> the metric its runs record instead
    unknown_datasets: tuple[str, ...] = ()          # said like datasets, absent from the DB
    unknown_models: tuple[str, ...] = ()
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a phrase two names fit -> those names


SAID: dict[str, Said] = {
    "sklearn": Said(
        ("mean test score", "cross-validation score", "CV score"), "mean_fit_time", ("fit time", "mean fit time"),
        {"param_C": ("C", "the C value"), "param_max_depth": ("max depth", "depth"),
         "param_n_estimators": ("number of trees", "n_estimators")},
        {"make_moons": ("make_moons", "moons", "the two moons data"), "make_circles": ("make_circles", "circles"),
         "hastie_10_2": ("hastie_10_2", "the Hastie data")},
        {"SVC": ("SVC", "support vector classifier"), "DecisionTreeClassifier": ("decision tree", "DecisionTreeClassifier"),
         "RandomForestClassifier": ("random forest", "RandomForestClassifier")},
        metrics={"std_test_score": ("std test score", "test score std")},
        runtime="mean_fit_time",
        unknown_datasets=("titanic", "california housing", "mnist"), unknown_models=("xgboost", "lightgbm")),
    "wandb": Said(
        ("eval accuracy", "validation accuracy", "accuracy"), "eval/loss", ("eval loss", "validation loss"),
        {"learning_rate": ("learning rate", "lr"), "weight_decay": ("weight decay", "wd")},
        {"ag_news": ("ag_news", "AG News"), "yelp_polarity": ("yelp_polarity", "yelp polarity", "the yelp data")},
        {"microsoft/deberta-v3-base": ("deberta-v3-base", "deberta v3 base", "DeBERTa base"),
         "microsoft/deberta-v3-large": ("deberta-v3-large", "deberta v3 large", "DeBERTa large"),
         "google/electra-base-discriminator": ("electra", "electra-base-discriminator", "ELECTRA base")},
        families={"deberta": ("microsoft/deberta-v3-base", "microsoft/deberta-v3-large")},
        metrics={"eval/f1": ("eval f1", "F1"), "train/loss": ("training loss", "train loss"),
                 "eval/brier_score": ("Brier score", "brier")},
        unknown_datasets=("sst2", "squad_v2", "imdb"), unknown_models=("gpt2-medium", "t5-small")),
    "mlflow": Said(
        ("top-1 accuracy", "top-1", "validation top-1"), "val_loss", ("validation loss", "val loss"),
        {"optimizer.lr": ("learning rate", "lr"), "optimizer.weight_decay": ("weight decay",),
         "model.depth": ("depth", "model depth"), "data.batch_size": ("batch size",)},
        {"cifar10": ("cifar10", "CIFAR-10"), "cifar100": ("cifar100", "CIFAR-100"),
         "imagenet-1k": ("imagenet-1k", "ImageNet", "imagenet 1k")},
        {"resnet18": ("resnet18", "ResNet-18"), "resnet50": ("resnet50", "ResNet-50"),
         "vit_b_16": ("vit_b_16", "ViT-B/16", "ViT"), "convnext_tiny": ("convnext_tiny", "ConvNeXt tiny")},
        families={"resnet": ("resnet18", "resnet50")},
        metrics={"val_acc5": ("top-5 accuracy", "top-5"), "train_loss": ("training loss", "train loss")},
        percent=True,
        unknown_datasets=("coco", "imagenet-21k", "svhn"), unknown_models=("efficientnet_b3", "swin_t")),
    "keras": Said(
        ("validation accuracy", "val accuracy", "val acc"), "val_loss", ("validation loss", "val loss"),
        {"epochs": ("number of epochs", "epochs"), "batch_size": ("batch size",), "learning_rate": ("learning rate", "lr")},
        {"cats_vs_dogs": ("cats_vs_dogs", "cats vs dogs"), "tf_flowers": ("tf_flowers", "the flowers data"),
         "oxford_iiit_pet": ("oxford_iiit_pet", "oxford pets")},
        {"MobileNetV2": ("MobileNetV2", "mobilenet v2"), "EfficientNetB0": ("EfficientNetB0", "efficientnet b0"),
         "DenseNet121": ("DenseNet121", "densenet 121"), "Xception": ("Xception",)},
        metrics={"loss": ("training loss", "train loss")},
        unknown_datasets=("cifar100", "caltech101", "stanford dogs"), unknown_models=("InceptionV3", "NASNetMobile")),
    "lightning": Said(
        ("validation accuracy", "val acc", "val accuracy"), "val_loss_epoch", ("validation loss", "val loss"),
        {"lr": ("learning rate", "lr"), "batch_size": ("batch size",), "weight_decay": ("weight decay",)},
        {"stl10": ("stl10", "STL-10"), "food101": ("food101", "Food-101"), "eurosat": ("eurosat", "EuroSAT")},
        {"efficientnet_b0": ("efficientnet_b0", "efficientnet b0"),
         "mobilenetv3_large_100": ("mobilenetv3_large_100", "mobilenetv3 large"),
         "regnety_008": ("regnety_008", "regnety 008")},
        metrics={"test_acc": ("test accuracy", "test acc"), "train_loss_epoch": ("training loss", "epoch train loss"),
                 "val_nll": ("validation NLL", "negative log likelihood")},
        unknown_datasets=("cifar10", "places365", "inaturalist"), unknown_models=("resnet50", "deit_small"),
        ambiguous={"training loss": ("train_loss_epoch", "train_loss_step")}),
    "hf": Said(
        ("validation accuracy", "eval accuracy", "accuracy"), "eval_loss", ("eval loss", "validation loss"),
        {"learning_rate": ("learning rate", "lr"), "per_device_train_batch_size": ("batch size", "per-device batch size"),
         "num_train_epochs": ("number of epochs", "epochs"), "weight_decay": ("weight decay",)},
        {"glue/sst2": ("glue/sst2", "sst2", "SST-2"), "glue/mrpc": ("glue/mrpc", "mrpc", "MRPC"),
         "imdb": ("imdb", "IMDB"), "glue/stsb": ("glue/stsb", "stsb", "STS-B")},
        {"bert-base-uncased": ("bert-base-uncased", "bert base"), "roberta-base": ("roberta-base", "roberta base"),
         "roberta-large": ("roberta-large", "roberta large"),
         "distilbert-base-uncased": ("distilbert-base-uncased", "distilbert")},
        families={"roberta": ("roberta-base", "roberta-large")},
        metrics={"eval_ece": ("ECE", "expected calibration error", "calibration error"), "eval_mse": ("MSE", "eval mse")},
        runtime="train_runtime", subsets={"glue/stsb": "eval_pearson"},
        unknown_datasets=("squad_v2", "glue/cola", "wikitext-103"), unknown_models=("gpt2-medium", "t5-base")),
}


def number_words(value: float) -> str:
    """5e-05 -> "five e minus five", 0.001 -> "one e minus three" (a mantissa of one digit)."""
    mantissa, exponent = f"{value:.0e}".split("e")
    sign = "minus " if exponent.startswith("-") else ""
    return f"{DIGIT_WORDS[int(mantissa)]} e {sign}{DIGIT_WORDS[abs(int(exponent))]}"


def notations(value: float) -> tuple[str, ...]:
    """The ways a small number is written or said: 5e-5, 0.00005, five e minus five."""
    mantissa, exponent = f"{value:.0e}".split("e")
    short = f"{int(mantissa)}e-{abs(int(exponent))}" if exponent.startswith("-") else f"{value:g}"
    plain = f"{value:.10f}".rstrip("0").rstrip(".")
    return short, plain, number_words(value)
