"""The embedder: a question is embedded on one torch thread (robust on busy cores) to the same
vector as in a multi-threaded batch; the ONNX export (made here from the bundled weights) gives
sentence-transformers' vectors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from labvoice.knowledge.embedder import ONE_THREAD_MAX_TEXTS


def test_one_question_is_embedded_on_one_thread_to_the_batch_vector(embedder):
    question = "which mlp run on mnist has the highest test accuracy"
    batch = [question] + [f"filler sentence number {i} about learning rates" for i in range(ONE_THREAD_MAX_TEXTS)]
    before = torch.get_num_threads()
    single = embedder.embed_query(question)
    assert torch.get_num_threads() == before
    many = embedder.embed(batch)
    assert torch.get_num_threads() == before
    assert single.shape == (embedder.dimension,) and abs(float(np.linalg.norm(single)) - 1.0) < 1e-5
    assert float(single @ many[0]) > 0.9999


def test_the_onnx_export_gives_the_same_vectors_without_sentence_transformers(config, tmp_path):
    from labvoice.knowledge.embedder import Embedder, model_name, onnx_file_for
    from labvoice.knowledge.onnx_embedder import ensure_onnx

    model_dir, _ = onnx_file_for(config)
    target = ensure_onnx(model_dir, tmp_path / "minilm.onnx")       # the real export, from the bundled weights
    assert target is not None and target.stat().st_size > 10_000_000
    name = model_name(config.knowledge.embedding_model)
    fast = Embedder(model_dir, name=name, device="cpu", batch_size=4, onnx_file=target, threads=config.threads)
    slow = Embedder(model_dir, name=name, device="cpu", batch_size=4)
    assert (fast.backend, slow.backend) == ("onnxruntime", "sentence-transformers")
    texts = ["Which run had the best validation accuracy on digits?", "hi",
             "Dataset digits: runs of the models mlp, random_forest.\nParameters: alpha, epochs, seed.",
             " ".join(["a long document paragraph about learning rate schedules"] * 60)]   # truncated at 256 tokens
    a, b = fast.embed(texts), slow.embed(texts)
    assert a.shape == b.shape == (len(texts), 384)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.99999
    assert float(fast.embed_query("hi") @ b[1]) > 0.99999


def test_a_model_of_another_layout_is_not_exported(config, tmp_path):
    import json
    import shutil

    from labvoice.knowledge.embedder import onnx_file_for
    from labvoice.knowledge.onnx_embedder import ensure_onnx, is_plain

    model_dir, _ = onnx_file_for(config)
    other = Path(shutil.copytree(model_dir, tmp_path / "model", ignore=shutil.ignore_patterns("*.safetensors")))
    assert is_plain(other)
    pooling = json.loads((other / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (other / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert not is_plain(other) and ensure_onnx(other, tmp_path / "x.onnx") is None
    assert not (tmp_path / "x.onnx").exists()
