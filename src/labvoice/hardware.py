"""What this machine has: CUDA, GPU memory, the profile it runs (`resolved_profile`), and one
thread budget applied to every engine. It reads the config; the config never imports it back."""
from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:   # log_run imports this module in training scripts: keep it light
    from labvoice.config import Config

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def apply_thread_budget(threads: int) -> None:
    """Set the one CPU thread budget before engines load.

    torch gets it here; CTranslate2 (cpu_threads), onnxruntime (intra_op_num_threads) and
    llama.cpp (n_threads) receive the same value from config when their backends load.
    `import silero_vad` would force torch to 1 thread, which is why VAD uses onnxruntime directly.
    """
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process
        pass


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def gpu_models_present(config: "Config") -> bool:
    from labvoice.models import missing_models

    return not missing_models(config, "gpu")


def resolved_profile(config: "Config") -> Literal["cpu", "gpu"]:
    """`auto` becomes gpu only when CUDA is usable and the GPU models are present."""
    if config.profile != "auto":
        return config.profile
    return "gpu" if cuda_available() and gpu_models_present(config) else "cpu"


def device_summary() -> str:
    """One line describing this machine, for manifests and benchmark reports."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    summary = f"{os.cpu_count()} cores, {cpu}"
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            summary += f"; GPU {props.name} {props.total_memory / 2**30:.0f} GiB"
    except ImportError:
        pass
    return summary
