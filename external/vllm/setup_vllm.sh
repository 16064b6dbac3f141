#!/usr/bin/env bash
# Create vLLM's own environment in external/vllm/.venv and install the pinned vLLM into it.
#
#   bash external/vllm/setup_vllm.sh            # uses python3 (3.11-3.14)
#   PYTHON=python3.12 bash external/vllm/setup_vllm.sh
#
# The app then starts external/vllm/.venv/bin/vllm itself (config llm.vllm.*); see docs/gpu.md.
# Needs an NVIDIA driver recent enough for CUDA 13 and ~10 GB of disk. Safe to re-run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found; install Python 3.11+ or set PYTHON=/path/to/python3" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 15) else 1)'; then
    echo "error: vLLM 0.33 needs Python 3.11-3.14; $("$python" --version 2>&1) found; set PYTHON=" >&2
    exit 1
fi
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "warning: nvidia-smi not found: vLLM installs, but it needs an NVIDIA GPU and driver to run" >&2
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -r "$here/requirements.txt"
"$venv/bin/python" -c 'import vllm; print("vLLM", vllm.__version__, "installed")'
echo "ready: $venv/bin/vllm  (the app starts it when profile: gpu and llm.gpu_backend: vllm)"
