"""A stand-in for `vllm serve` on machines without a GPU: same command line, same endpoints we use.

`vllm_standin.py serve MODEL --served-model-name N --host H --port P [vLLM-only flags...]` prints
its arguments, then serves the GGUF named by $LABVOICE_STANDIN_GGUF through llama-cpp-python's
OpenAI-compatible app under the served name, plus vLLM's `GET /health`. MODEL must exist on disk
(like a local vLLM model folder). $LABVOICE_STANDIN_HEALTH_DELAY_S delays readiness.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="vllm")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--served-model-name", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gpu-memory-utilization", type=float, required=True)
    parser.add_argument("--max-model-len", type=int, required=True)
    parser.add_argument("--dtype", choices=["auto", "bfloat16", "float16"], required=True)
    args = parser.parse_args()
    print("standin argv", json.dumps(sys.argv[1:]), "HF_HUB_OFFLINE=" + os.environ.get("HF_HUB_OFFLINE", ""),
          flush=True)
    if not Path(args.model).exists():
        print(f"OSError: model path {args.model} does not exist", flush=True)
        return 1

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import Settings

    app = create_app(settings=Settings(model=os.environ["LABVOICE_STANDIN_GGUF"], model_alias=args.served_model_name,
                                       n_ctx=min(args.max_model_len, 2048), n_threads=1, verbose=False))
    ready_at = time.monotonic() + float(os.environ.get("LABVOICE_STANDIN_HEALTH_DELAY_S", "0"))

    @app.get("/health")
    def health():
        from fastapi import Response

        return Response(status_code=200 if time.monotonic() >= ready_at else 503)

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
