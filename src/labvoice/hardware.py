"""What this machine has: CUDA, GPU memory, the profile it runs (`resolved_profile`), and one
thread budget applied to every engine. It reads the config; the config never imports it back.

torch is never imported here to find out: the CPU profile does not install it, and importing it costs
~1 s and ~300 MB. CPU counts come from the OS (`usable_cpus`); a GPU is looked for only where an NVIDIA
driver is loaded (`nvidia_driver_loaded`), and only then is torch asked whether it can use it.
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:   # log_run imports this module in training scripts: keep it light
    from labvoice.config import Config

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_NVIDIA_DRIVER = (Path("/proc/driver/nvidia/version"), Path("/dev/nvidiactl"))


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, as taskset or a container sets it), else all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):   # not Linux
        return os.cpu_count() or 1


def apply_thread_budget(threads: int) -> None:
    """Set the one CPU thread budget before engines load.

    The OpenMP/BLAS variables are read by each runtime when it loads (torch, where the GPU profile has
    it, included); CTranslate2 (cpu_threads), onnxruntime (intra_op_num_threads) and llama.cpp
    (n_threads) receive the same value from config when their backends load. torch is not imported
    for this; if something imported it already, it gets the budget too.
    `import silero_vad` would force torch to 1 thread, which is why VAD uses onnxruntime directly.
    """
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process
        pass


def nvidia_driver_loaded() -> bool:
    """An NVIDIA kernel driver is loaded (no CUDA without one); checked without importing anything."""
    return any(path.exists() for path in _NVIDIA_DRIVER)


def cuda_available() -> bool:
    """torch can use a CUDA GPU. torch is imported only where a driver is loaded and torch is installed."""
    if not nvidia_driver_loaded():
        return False
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
    return "gpu" if gpu_models_present(config) and cuda_available() else "cpu"


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
    if cuda_available():
        import torch

        props = torch.cuda.get_device_properties(0)
        summary += f"; GPU {props.name} {props.total_memory / 2**30:.0f} GiB"
    return summary
