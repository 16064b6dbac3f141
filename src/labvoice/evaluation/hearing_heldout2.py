"""The second held-out spoken check of issue 19 (2026-12-06): voices and questions the hearing work was
never tuned on, apart from the first held-out set (hearing_heldout.py) as well.

Committed on 2026-12-06, before the change to the hearing code that it judges, and never edited after: a
change made to do better on these voices or questions would make them a tuning set. New voices or questions
go in a new file with its own date.

- **Voices**: espeak-ng voice and variant pairs that none of `hearing_voices.VOICES`, `REFERENCE_VOICES` or
  `hearing_heldout.HELDOUT_VOICES` uses (Scottish `f5`, American `m4`, Received Pronunciation `f3`,
  Caribbean `m2`, New York City `f1`), each at a speed and pitch of its own, one in a small room, one with
  white noise and one with a LibriVox reader talking in the background.
- **Questions**: 10 per lab DB (`evaluation/lab_dbs.py`), 60 in all, written for this check only (not the
  rig's `hearing.QUESTIONS`, not the first held-out set, not the lab suites' wording); each names
  datasets, checkpoints, metrics or parameters the DB holds, as a person in that lab would say them, and the
  kinds are mixed: best and worst by a metric, top few, counts, averages, which parameter value did best,
  comparisons of two models, filters on a parameter.

Judged as the first held-out set is, by `hearing.run_rig`
(`scripts/bench_hearing.py --heldout2`): a spoken question is *right* when its answer's facts (the displayed
facts: run ids and values) equal the typed question's; typed accuracy is the share of typed questions
answered with facts. Issue 19's bar: spoken >= 0.9 x typed.
"""
from __future__ import annotations

from labvoice.evaluation.hearing import HearingQuestion
from labvoice.evaluation.hearing_voices import Voice

HELDOUT2_VOICES: tuple[Voice, ...] = (
    Voice("heldout2-scottish-f5", "en-gb-scotland+f5", 145, 62),
    Voice("heldout2-us-m4-room", "en-us+m4", 172, 38, reverb_s=0.35),
    Voice("heldout2-rp-f3-noise", "en-gb-x-rp+f3", 158, 66, snr_db=28.0),
    Voice("heldout2-caribbean-m2", "en-029+m2", 136, 44),
    Voice("heldout2-nyc-f1-babble", "en-us-nyc+f1", 182, 56, babble_snr_db=15.0),
)

HELDOUT2_QUESTIONS: tuple[HearingQuestion, ...] = tuple(HearingQuestion(db, text) for db, text in (
    ("sklearn", "on make moons which max depth gave the decision tree its highest mean test score"),
    ("sklearn", "how many random forest runs had n estimators set to 30"),
    ("sklearn", "what is the average mean fit time of decision tree on hastie 10 2"),
    ("sklearn", "show the three best runs on make circles by mean test score"),
    ("sklearn", "on make moons which svc run had the smallest std test score"),
    ("sklearn", "what is the worst mean test score any random forest got on make circles"),
    ("sklearn", "number of runs on make moons with a max depth of 8"),
    ("sklearn", "which dataset gave svc its best mean test score"),
    ("sklearn", "on hastie 10 2 svc versus random forest by mean test score"),
    ("sklearn", "what mean test score did svc get with c at 100 on make circles"),

    ("wandb", "top three runs on yelp polarity by eval accuracy"),
    ("wandb", "which learning rate worked best for deberta v3 large on ag news"),
    ("wandb", "how many runs used electra base discriminator"),
    ("wandb", "mean eval loss of the deberta v3 base runs on ag news"),
    ("wandb", "which run had the worst brier score on yelp polarity"),
    ("wandb", "count the yelp polarity runs whose weight decay was 0"),
    ("wandb", "what seed did the run with the lowest eval loss use"),
    ("wandb", "deberta v3 base against electra on ag news by eval f1"),
    ("wandb", "which run reached the lowest train loss on yelp polarity"),
    ("wandb", "average eval accuracy for each model"),

    ("mlflow", "what is the lowest training loss on imagenet 1k"),
    ("mlflow", "how many runs were trained with adamw"),
    ("mlflow", "best top 1 accuracy per model on cifar 100"),
    ("mlflow", "for vit b 16 on cifar 10 which weight decay led to the best top 1 accuracy"),
    ("mlflow", "average top 1 accuracy of convnext tiny"),
    ("mlflow", "among the pretrained runs which one had the best top 1 accuracy"),
    ("mlflow", "how many runs on cifar 10 used a learning rate of 0.1"),
    ("mlflow", "what was the worst validation loss of resnet 18 on cifar 100"),
    ("mlflow", "resnet 50 versus convnext tiny on imagenet 1k top 1 accuracy"),
    ("mlflow", "what seed gave the best resnet 50 on cifar 100"),

    ("keras", "best three runs on cats vs dogs by validation accuracy"),
    ("keras", "which optimizer gave densenet 121 its lowest validation loss"),
    ("keras", "how many runs trained for 10 epochs on tf flowers"),
    ("keras", "average training loss of mobilenet v2"),
    ("keras", "on cats vs dogs which batch size went with the top xception run"),
    ("keras", "efficientnet b0 against densenet 121 on oxford pets validation accuracy"),
    ("keras", "lowest validation accuracy on tf flowers"),
    ("keras", "how many runs were trained with batch size 64"),
    ("keras", "which learning rate gave the best validation accuracy on oxford pets"),
    ("keras", "highest training accuracy with rmsprop on cats vs dogs"),

    ("lightning", "top two runs on food 101 by test accuracy"),
    ("lightning", "on stl 10 which learning rate gave efficientnet b0 its best validation accuracy"),
    ("lightning", "how many regnety 008 runs are there"),
    ("lightning", "on food 101 what is the average validation accuracy of mobilenet v3 large"),
    ("lightning", "which run had the smallest train loss on eurosat"),
    ("lightning", "best test accuracy per model on stl 10"),
    ("lightning", "count the runs with batch size 128"),
    ("lightning", "which weight decay was set on the best regnety 008 run"),
    ("lightning", "regnety 008 versus efficientnet b0 on food 101 by validation nll"),
    ("lightning", "which run on stl 10 had the worst validation loss"),

    ("hf", "which distilbert run had the best eval accuracy on imdb"),
    ("hf", "average train runtime of roberta large"),
    ("hf", "how many runs were there on stsb"),
    ("hf", "which learning rate gave the best f1 on mrpc"),
    ("hf", "top three eval accuracy runs on sst 2"),
    ("hf", "which roberta base run on imdb had the lowest eval loss"),
    ("hf", "how many fine tunes ran with batch size 8"),
    ("hf", "highest pearson correlation for each model on stsb"),
    ("hf", "bert base against roberta base on sst 2 eval accuracy"),
    ("hf", "which run had the most train samples per second on imdb"),
))
