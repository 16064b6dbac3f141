"""The tracker producers of the lab suite, driven through each tracker's own client (called by
lab_producers in a child process): W&B offline runs, MLflow runs with nested parameters, Lightning-style
TensorBoard event files, and Hugging Face Trainer-style runs logged to MLflow the way its MLflowCallback
logs them (every argument a text param, `eval_*` / `train_*` metrics). Values are seeded; each function
returns what it made with the tracker's own run id as `source_id`.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

WANDB_SEED, MLFLOW_SEED, LIGHTNING_SEED, HF_SEED = 3, 5, 9, 17


def _mlflow_experiment(folder: str, name: str):
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    mlflow.set_tracking_uri(f"sqlite:///{(Path(folder) / 'mlflow.db').resolve()}")
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(Path(folder) / "artifacts").resolve().as_uri())
    mlflow.set_experiment(name)
    return mlflow


# --- W&B -------------------------------------------------------------------------------------------------

WANDB_RUNS = (  # model, dataset, learning rate, weight decay
    ("microsoft/deberta-v3-base", "ag_news", 2e-5, 0.01), ("microsoft/deberta-v3-base", "ag_news", 3e-5, 0.0),
    ("microsoft/deberta-v3-large", "ag_news", 1e-5, 0.01), ("microsoft/deberta-v3-large", "ag_news", 2e-5, 0.0),
    ("google/electra-base-discriminator", "ag_news", 2e-5, 0.01),
    ("microsoft/deberta-v3-base", "yelp_polarity", 2e-5, 0.0), ("microsoft/deberta-v3-base", "yelp_polarity", 3e-5, 0.01),
    ("microsoft/deberta-v3-large", "yelp_polarity", 1e-5, 0.01),
    ("google/electra-base-discriminator", "yelp_polarity", 3e-5, 0.0),
    ("google/electra-base-discriminator", "yelp_polarity", 2e-5, 0.01),
)


def wandb_finetunes(folder: str) -> list[dict]:
    """10 offline W&B runs of text-classification fine-tunes, logged like the Trainer's W&B callback
    (`train/loss` every few steps, `eval/loss`, `eval/accuracy`, `eval/f1`, `eval/brier_score` per epoch)."""
    os.environ.update({"WANDB_MODE": "offline", "WANDB_DIR": folder, "WANDB_SILENT": "true",
                       "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true"})
    import wandb

    rng = random.Random(WANDB_SEED)
    made = []
    for i, (model, dataset, lr, wd) in enumerate(WANDB_RUNS):
        base = {"ag_news": 0.935, "yelp_polarity": 0.955}[dataset] + (0.012 if "large" in model else 0.0) \
            - (0.006 if "electra" in model else 0.0) - 2000 * abs(lr - 2e-5)
        final = round(base + rng.uniform(-0.004, 0.004), 4)
        run = wandb.init(project="text-clf", name=f"sweep-{i:02d}", reinit="finish_previous",
                         settings=wandb.Settings(x_disable_stats=True, x_disable_meta=True, console="off"),
                         config={"model_name_or_path": model, "dataset_name": dataset, "learning_rate": lr,
                                 "weight_decay": wd, "warmup_ratio": 0.06, "num_train_epochs": 3,
                                 "per_device_train_batch_size": 32, "seed": 42 + i})
        step = 0
        for epoch in range(3):
            for _ in range(3):
                step += 100
                run.log({"train/loss": round(0.6 * (1 - final) + 0.5 / (1 + step / 200) + rng.uniform(0, 0.02), 4)},
                        step=step)
            acc = round(final - 0.02 * (2 - epoch), 4)
            run.log({"eval/accuracy": acc, "eval/loss": round(1.5 * (1 - acc) + rng.uniform(0, 0.01), 4),
                     "eval/f1": round(acc - rng.uniform(0.0, 0.006), 4),
                     "eval/brier_score": round(0.9 * (1 - acc) + 0.002 * ((i * 7 + epoch) % 5), 4)}, step=step)
        run.finish()
        made.append({"source_id": run.id, "dataset": dataset, "model": model, "eval/accuracy": acc})
    return made


# --- MLflow with nested params ---------------------------------------------------------------------------

VISION_MODELS = {"resnet18": (18, 0.0), "resnet50": (50, 2.5), "vit_b_16": (12, 1.5), "convnext_tiny": (18, 3.0)}
VISION_DATASETS = {"cifar10": 93.0, "cifar100": 74.0, "imagenet-1k": 72.0}


def _flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def mlflow_nested(folder: str) -> list[dict]:
    """21 image-classification runs whose Hydra-style config is logged flattened (`model.name`,
    `model.depth`, `optimizer.lr`, `optimizer.weight_decay`, ...); the dataset is the run's logged input
    dataset; top-1/top-5 in percent as torchvision's reference scripts print them."""
    import numpy as np

    mlflow = _mlflow_experiment(folder, "vision-baselines")
    rng = random.Random(MLFLOW_SEED)
    plan = [(d, m, 0) for d in ("cifar10", "cifar100") for m in VISION_MODELS]
    plan += [(d, m, 1) for d in ("cifar10", "cifar100") for m in VISION_MODELS]
    plan += [("imagenet-1k", m, 0) for m in VISION_MODELS] + [("imagenet-1k", "resnet50", 1)]
    made = []
    for i, (dataset, model, variant) in enumerate(plan):
        depth, gain = VISION_MODELS[model]
        vit = model.startswith("vit")
        lr = (1e-3, 5e-4)[variant] if vit else (0.1, 0.05)[variant]
        wd = (0.05, 5e-4)[variant] if vit else (5e-4, 1e-4)[variant]
        config = {"model": {"name": model, "depth": depth, "pretrained": dataset != "imagenet-1k"},
                  "optimizer": {"name": "adamw" if vit else "sgd", "lr": lr, "weight_decay": wd,
                                "momentum": None if vit else 0.9},
                  "data": {"batch_size": 256 if dataset == "imagenet-1k" else 128, "num_workers": 8},
                  "trainer": {"max_epochs": 90 if dataset == "imagenet-1k" else 200, "seed": i}}
        top1 = round(VISION_DATASETS[dataset] + gain - 0.8 * variant + rng.uniform(-1.2, 1.2), 2)
        with mlflow.start_run(run_name=f"baseline-{i:02d}") as run:
            mlflow.log_params({k: v for k, v in _flatten(config).items() if v is not None})
            mlflow.log_input(mlflow.data.from_numpy(np.zeros((4, 2)), name=dataset), context="training")
            for epoch in range(4):
                lag = 3 - epoch
                mlflow.log_metrics({"val_acc1": round(top1 - 4.0 * lag, 2),
                                    "val_acc5": round(min(99.9, top1 + 18 - 3.0 * lag + rng.uniform(0, 1)), 2)
                                    if dataset != "cifar10" else round(98.4 + 0.3 * epoch + rng.uniform(0, 0.3), 2),
                                    "val_loss": round((100 - top1) / 30 + 0.3 * lag, 4),
                                    "train_loss": round((100 - top1) / 40 + 0.35 * lag, 4)}, step=epoch)
            if i == 6:
                mlflow.set_tag("mlflow.note.content", "loss spiked at epoch 2, recovered")
        made.append({"source_id": run.info.run_id, "dataset": dataset, "model": model, "val_acc1": top1})
    return made


# --- Lightning via TensorBoard ---------------------------------------------------------------------------

LIGHTNING_RUNS = (  # model, dataset, lr, batch size
    ("efficientnet_b0", "stl10", 1e-3, 64), ("mobilenetv3_large_100", "stl10", 1e-3, 128),
    ("regnety_008", "stl10", 3e-4, 32), ("efficientnet_b0", "food101", 3e-4, 64),
    ("mobilenetv3_large_100", "food101", 1e-3, 32), ("regnety_008", "food101", 3e-4, 128),
    ("efficientnet_b0", "eurosat", 1e-3, 32), ("mobilenetv3_large_100", "eurosat", 3e-4, 64),
    ("regnety_008", "eurosat", 1e-4, 128), ("efficientnet_b0", "stl10", 1e-4, 32),
    ("efficientnet_b0", "food101", 1e-3, 128), ("mobilenetv3_large_100", "stl10", 3e-4, 32),
    ("regnety_008", "food101", 1e-3, 64), ("efficientnet_b0", "eurosat", 3e-4, 128),
    ("mobilenetv3_large_100", "food101", 1e-4, 64),
)


def lightning_tensorboard(folder: str) -> list[dict]:
    """15 runs as Lightning's TensorBoardLogger leaves them (`lightning_logs/version_N`): `train_loss_step`
    per logged step, `train_loss_epoch`, `val_loss_epoch`, `val/acc` and `val/nll` per epoch, `test/acc` once, the
    `epoch` counter, and the module's hyper-parameters with `hp_metric`."""
    from tensorboardX import SummaryWriter   # torch-free; the writer Lightning falls back to

    rng = random.Random(LIGHTNING_SEED)
    base = {"stl10": 0.88, "food101": 0.78, "eurosat": 0.965}
    gain = {"efficientnet_b0": 0.015, "mobilenetv3_large_100": 0.0, "regnety_008": 0.008}
    made = []
    for i, (model, dataset, lr, batch) in enumerate(LIGHTNING_RUNS):
        final = round(min(0.995, base[dataset] + gain[model] - 8.0 * abs(lr - 3e-4) + rng.uniform(-0.01, 0.01)), 4)
        name = f"version_{i}"
        writer = SummaryWriter(str(Path(folder) / "lightning_logs" / name))
        step = 0
        for epoch in range(5):
            acc = round(final - 0.03 * (4 - epoch) + rng.uniform(-0.003, 0.003), 4)
            for _ in range(2):
                step += 50
                writer.add_scalar("train_loss_step", round(1.3 * (1 - acc) + rng.uniform(0, 0.1), 4), step)
            writer.add_scalar("epoch", epoch, step)
            writer.add_scalar("train_loss_epoch", round(1.2 * (1 - acc) + 0.02, 4), step)
            writer.add_scalar("val_loss_epoch", round(1.4 * (1 - acc) + rng.uniform(0, 0.02), 4), step)
            writer.add_scalar("val/acc", acc, step)
            writer.add_scalar("val/nll", round(1.1 * (1 - acc) + 0.003 * ((i * 5 + epoch) % 7), 4), step)
        writer.add_scalar("test/acc", round(acc - rng.uniform(0.002, 0.015), 4), step)
        writer.add_hparams({"model_name": model, "dataset": dataset, "lr": lr, "batch_size": batch, "max_epochs": 5,
                            "weight_decay": 0.01 if i % 2 else 0.0}, {"hp_metric": acc}, name="hparams")
        writer.close()
        made.append({"source_id": f"lightning_logs/{name}", "dataset": dataset, "model": model, "val_acc": acc})
    return made


# --- Hugging Face Trainer-style runs in MLflow -----------------------------------------------------------

HF_MODELS = {"bert-base-uncased": (0.0, 1.0), "roberta-base": (0.01, 1.0), "roberta-large": (0.025, 3.2),
             "distilbert-base-uncased": (-0.015, 0.55)}
HF_TASKS = {"glue/sst2": (0.915, 1500, 128), "glue/mrpc": (0.845, 160, 128), "imdb": (0.925, 2300, 512),
            "glue/stsb": (0.87, 210, 128)}


def _hf_plan() -> list[tuple[str, str, float, int, int, bool]]:
    """(model, dataset, learning rate, batch size, epochs, ran out of memory) per run."""
    plan = []
    for model in HF_MODELS:
        large, distil = model == "roberta-large", model.startswith("distil")
        for lr in (5e-5, 3e-5, 2e-5):
            plan.append((model, "glue/sst2", lr, 16 if large else 32, 2 if distil else 3, False))
        for lr in (3e-5, 2e-5):
            plan.append((model, "glue/mrpc", lr, 8 if large else 16, 3 if large else 5, False))
            plan.append((model, "imdb", lr, 8 if large else 16, 2, False))
        plan.append((model, "glue/stsb", 2e-5 if model.startswith("roberta") else 5e-5, 32, 5, False))
    plan += [("bert-base-uncased", "glue/stsb", 2e-5, 32, 5, False), ("roberta-base", "glue/stsb", 3e-5, 32, 5, False)]
    plan += [("roberta-large", "glue/sst2", 2e-5, 32, 3, True), ("roberta-large", "imdb", 2e-5, 32, 2, True)]
    return plan


def hf_trainer_mlflow(folder: str) -> list[dict]:
    """36 fine-tunes logged the way transformers' MLflowCallback does: TrainingArguments as text params
    (`learning_rate` "5e-05", `per_device_train_batch_size`, `num_train_epochs`), `eval_*` metrics per
    epoch, `train_runtime` in seconds at the end; GLUE STS-B runs record a regression metric only
    (`eval_pearson`, `eval_spearmanr`, `eval_mse`); two runs died of OOM (a note, no eval, no runtime)."""
    mlflow = _mlflow_experiment(folder, "hf-finetune")
    rng = random.Random(HF_SEED)
    made = []
    for i, (model, dataset, lr, batch, epochs, oom) in enumerate(_hf_plan()):
        gain, slow = HF_MODELS[model]
        level, seconds_per_epoch, seq = HF_TASKS[dataset]
        quality = level + gain - 300 * abs(lr - (2e-5 if model == "roberta-large" else 3e-5)) + rng.uniform(-0.006, 0.006)
        params = {"model_name_or_path": model, "dataset_name": dataset, "learning_rate": str(lr),
                  "per_device_train_batch_size": str(batch), "num_train_epochs": str(float(epochs)),
                  "weight_decay": str(0.01 if i % 3 else 0.0), "warmup_ratio": "0.1", "max_seq_length": str(seq),
                  "lr_scheduler_type": "linear", "fp16": "True", "gradient_accumulation_steps": "1",
                  "seed": str(42 + i % 3), "output_dir": f"outputs/ft-{i:02d}"}
        with mlflow.start_run(run_name=f"ft-{i:02d}") as run:
            mlflow.log_params(params)
            for step in (100, 200, 300):
                mlflow.log_metric("train_loss", round(0.7 - 0.15 * step / 100 + rng.uniform(0, 0.03), 4), step=step)
            if oom:
                mlflow.set_tag("mlflow.note.content", "OOM at step 300 (CUDA out of memory), relaunched with batch 16")
                made.append({"source_id": run.info.run_id, "dataset": dataset, "model": model})
                continue
            for epoch in range(1, epochs + 1):
                lag = epochs - epoch
                step = 1000 * epoch
                if dataset == "glue/stsb":
                    pearson = round(quality - 0.012 * lag, 4)
                    mlflow.log_metrics({"eval_pearson": pearson, "eval_spearmanr": round(pearson - 0.004, 4),
                                        "eval_mse": round(2.2 * (1 - pearson) + 0.1, 4),
                                        "eval_loss": round(2.2 * (1 - pearson) + 0.1, 4)}, step=step)
                else:
                    acc = round(quality - 0.01 * lag, 4)
                    metrics = {"eval_accuracy": acc, "eval_loss": round(1.6 * (1 - acc) + rng.uniform(0, 0.02), 4),
                               "eval_ece": round(0.02 + 0.5 * (1 - acc) * rng.uniform(0.3, 1.2), 4)}
                    if dataset == "glue/mrpc":
                        metrics["eval_f1"] = round(min(0.99, acc + 0.04 + rng.uniform(0, 0.01)), 4)
                    mlflow.log_metrics(metrics, step=step)
            runtime = round(seconds_per_epoch * slow * epochs * (1 + rng.uniform(-0.08, 0.08)), 1)
            mlflow.log_metrics({"train_runtime": runtime, "train_samples_per_second": round(67000 * epochs / runtime, 2),
                                "train_loss": round(0.25 - 2 * gain + rng.uniform(0, 0.05), 4)}, step=1000 * epochs)
        made.append({"source_id": run.info.run_id, "dataset": dataset, "model": model, "train_runtime": runtime})
    return made
