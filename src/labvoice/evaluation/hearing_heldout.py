"""The held-out spoken check of issue 19: voices and questions the hearing work was never tuned on.

Committed before any code change it judges, and never edited after: a change made to do better on these
voices or questions would make them a tuning set. New voices or questions go in a new file with its own date.

- **Voices**: espeak-ng voices and variants that `hearing_voices.VOICES` does not use (Caribbean, Lancaster,
  West Midlands, New York City English, the `m7` and `f4` variants), at speeds and pitches of their own, one
  in a small room and one with noise.
- **Questions**: 12 per lab DB (`evaluation/lab_dbs.py`), 72 in all, written for this check only (not the
  lab suite's wording, not the rig's `hearing.QUESTIONS`); each names datasets, checkpoints, metrics or
  parameters as a person in that lab would say them.

Judged by `hearing.run_heldout` (`scripts/bench_hearing.py --heldout`): a spoken question is *right* when
its answer's facts (the displayed facts: run ids and values) equal the typed question's; typed accuracy is the
share of typed questions answered with facts. Issue 19's bar: spoken >= 0.9 x typed.
"""
from __future__ import annotations

from labvoice.evaluation.hearing import HearingQuestion
from labvoice.evaluation.hearing_voices import Voice

HELDOUT_VOICES: tuple[Voice, ...] = (
    Voice("heldout-us-m7", "en-us+m7", 165, 35),
    Voice("heldout-caribbean", "en-029", 150, 55),
    Voice("heldout-lancaster-room", "en-gb-x-gbclan", 145, 50, reverb_s=0.4),
    Voice("heldout-us-f4-noise", "en-us+f4", 160, 70, snr_db=25.0),
    Voice("heldout-west-midlands", "en-gb-x-gbcwmd", 140, 45),
    Voice("heldout-nyc-fast", "en-us-nyc", 185, 50),
)

HELDOUT_QUESTIONS: tuple[HearingQuestion, ...] = tuple(HearingQuestion(db, text) for db, text in (
    ("sklearn", "what was the top mean test score for svc on moons"),
    ("sklearn", "which n estimators value gave random forest its best score on hastie"),
    ("sklearn", "show me the decision tree run with the highest mean test score on make circles"),
    ("sklearn", "what is the longest mean fit time for random forest on moons"),
    ("sklearn", "average std test score of svc runs"),
    ("sklearn", "how many decision tree runs were there on hastie"),
    ("sklearn", "which c value worked best for svc on circles"),
    ("sklearn", "mean score time of the best svc on hastie"),
    ("sklearn", "compare the mean test score of decision tree and random forest on moons"),
    ("sklearn", "which model has the best average mean test score on make circles"),
    ("sklearn", "how many svc runs have a c below 1"),
    ("sklearn", "lowest mean test score on hastie 10 2"),

    ("wandb", "which electra run had the lowest eval loss on yelp polarity"),
    ("wandb", "what is the best eval accuracy of deberta v3 base on ag news"),
    ("wandb", "how many deberta v3 large runs are there"),
    ("wandb", "what warmup ratio did the best run on ag news use"),
    ("wandb", "average f1 of electra runs on yelp polarity"),
    ("wandb", "which run had the lowest brier score on ag news"),
    ("wandb", "what seed gave the best eval accuracy for deberta v3 large"),
    ("wandb", "how many runs on ag news trained for more than 2 epochs"),
    ("wandb", "best train loss of deberta v3 base"),
    ("wandb", "which model did best on yelp polarity by eval f1"),
    ("wandb", "what batch size did the best electra run use"),
    ("wandb", "how many runs used a weight decay of 0.01"),

    ("mlflow", "which vit b 16 run had the lowest validation loss on cifar 100"),
    ("mlflow", "best top 1 accuracy of resnet 18 on cifar 10"),
    ("mlflow", "how many convnext tiny runs are on imagenet 1k"),
    ("mlflow", "what momentum did the best resnet 50 run use"),
    ("mlflow", "average top 5 accuracy on cifar 100 per model"),
    ("mlflow", "which optimizer gave the best top 1 accuracy on imagenet 1k"),
    ("mlflow", "what was the highest training loss of vit b 16"),
    ("mlflow", "how many runs on cifar 100 used a batch size above 128"),
    ("mlflow", "which run on cifar 10 had the lowest validation loss"),
    ("mlflow", "how many max epochs did the best convnext tiny run train for"),
    ("mlflow", "average validation loss of resnet 50 on imagenet 1k"),
    ("mlflow", "which model depth scored best on cifar 10"),

    ("keras", "which densenet 121 run had the best validation accuracy on tf flowers"),
    ("keras", "lowest training loss of xception on oxford pets"),
    ("keras", "how many efficientnet b0 runs used rmsprop"),
    ("keras", "what optimizer did the best mobilenet v2 run on oxford pets use"),
    ("keras", "average validation loss per model on tf flowers"),
    ("keras", "best validation accuracy on cats vs dogs with 20 epochs"),
    ("keras", "which batch size gave xception its lowest validation loss"),
    ("keras", "how many runs on oxford pets have a learning rate below 0.001"),
    ("keras", "what is the highest training accuracy of densenet 121"),
    ("keras", "which model had the lowest validation loss on cats vs dogs"),
    ("keras", "average validation accuracy of efficientnet b0"),
    ("keras", "how many mobilenet v2 runs are on tf flowers"),

    ("lightning", "which regnety 008 run had the best validation accuracy on eurosat"),
    ("lightning", "lowest validation nll of mobilenet v3 large on food 101"),
    ("lightning", "how many efficientnet b0 runs are there on stl 10"),
    ("lightning", "what learning rate did the best run on food 101 use"),
    ("lightning", "average test accuracy per model on eurosat"),
    ("lightning", "best test accuracy of regnety 008"),
    ("lightning", "which batch size gave the lowest validation loss on stl 10"),
    ("lightning", "how many runs used a weight decay of 0.01"),
    ("lightning", "what was the highest train loss on food 101"),
    ("lightning", "which model had the best validation accuracy on stl 10"),
    ("lightning", "average validation nll of efficientnet b0 on eurosat"),
    ("lightning", "how many mobilenet v3 large runs have a batch size above 64"),

    ("hf", "which bert base run had the best pearson correlation on stsb"),
    ("hf", "best spearman score of roberta large on stsb"),
    ("hf", "how many distilbert runs were on sst 2"),
    ("hf", "what learning rate did the best roberta base run on mrpc use"),
    ("hf", "average f1 on mrpc per model"),
    ("hf", "lowest eval mse on stsb"),
    ("hf", "which run on imdb had the highest train runtime"),
    ("hf", "what max sequence length did the best run on imdb use"),
    ("hf", "how many runs used gradient accumulation steps above 1"),
    ("hf", "which model had the lowest calibration error on sst 2"),
    ("hf", "average eval accuracy of roberta large"),
    ("hf", "what warmup ratio gave bert base its best accuracy on sst 2"),
))
