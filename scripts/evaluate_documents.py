"""Score document questions per document set and print a table (labvoice.evaluation.documents_eval).

    python scripts/evaluate_documents.py [--db data/runs.db] [--workdir DIR] [--failures]

Three document sets (knowledge_base/, scikit-learn's dataset descriptions, a lab handbook PDF made
here), questions no document answers (asked of every set) and run-and-document questions, each
through the real answerer on the CPU profile. Without --db (or when it is missing) the quick demo
runs are trained into a temporary folder. Exit 1 below 90 % on a set or on any false answer.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from labvoice.config import load_config
from labvoice.evaluation.documents_eval import run_suite, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--failures", action="store_true", help="print every wrong answer")
    args = parser.parse_args()
    from labvoice.hardware import apply_thread_budget
    from labvoice.knowledge.embedder import Embedder
    from labvoice.llm.llama_cpp import LlamaCppChat
    from labvoice.benchmarks.demo_inputs import load_train_demo, make_pdf

    config = load_config()
    apply_thread_budget(config.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = args.db if args.db and args.db.exists() else None
        if db is None:
            db = work / "runs.db"
            if not db.exists():
                load_train_demo().run_demo(db, work / "artifacts", quick=True, progress=False)
        config = config.replace(**{"paths.db": db, "profile": "cpu"})
        chat = LlamaCppChat.from_config(config)
        try:
            scores = run_suite(config, Embedder.from_config(config), chat, work, make_pdf)
        finally:
            chat.close()
    print(table(scores))
    if args.failures:
        for s in scores:
            for c in s.cases:
                if not c.ok:
                    print(f"[{s.name}] {c.question}\n    {c.problem}\n    -> {c.answer[:200]}")
    sets = [s for s in scores if not s.name.startswith("no_document")]
    return 0 if all(s.rate >= 0.9 for s in sets) and all(s.false_answers == 0 for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
