"""Nothing leaves the machine: the environment that switches off usage reporting ("telemetry") of the
libraries labvoice runs in its own process or starts beside it.

`quiet_environment()` sets each variable only where the environment does not already name it (a
person who sets one on purpose is obeyed), and must run before the library is imported: MLflow and
W&B read these when their clients start. vLLM gets its own in `llm/vllm.py` (`PRIVACY_ENV`).
"""
from __future__ import annotations

import os
from types import MappingProxyType
from typing import Mapping, MutableMapping

# MLflow >= 3.2 sends anonymous usage data unless MLFLOW_DISABLE_TELEMETRY or DO_NOT_TRACK is set
# (mlflow.org/docs/latest/community/usage-tracking). W&B: WANDB_MODE=offline keeps a run from syncing,
# WANDB_DISABLE_STATS stops system-metric collection, WANDB_SILENT its console chatter. labvoice only
# reads W&B's files (wandb.proto), so these are a second line of defence.
TELEMETRY_OFF: Mapping[str, str] = MappingProxyType({
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "WANDB_MODE": "offline",
    "WANDB_DISABLE_STATS": "true",
    "WANDB_SILENT": "true",
})


def quiet_environment(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the TELEMETRY_OFF variables that are not set yet; returns the ones it set."""
    environ = os.environ if environ is None else environ
    added = {name: value for name, value in TELEMETRY_OFF.items() if name not in environ}
    environ.update(added)
    return added
