"""VllmServer / VllmChat process handling, with a CPU stand-in for the `vllm` executable.

vLLM cannot run without a GPU, so `executable` points at tests/llm/vllm_standin.py (same command
line, `/health`, and llama.cpp's OpenAI-compatible API serving SmolLM2 under the served name).
Start-up failures use tiny shell scripts: a crashing server and one that never gets healthy.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest

from labvoice.cancel import CancelToken
from labvoice.config import load_config
from labvoice.llm.base import ChatMessage, GenerationOptions, LlmError
from labvoice.llm.vllm import DEFAULT_EXECUTABLE, VllmChat, VllmServer
from labvoice.models import ModelMissing
from tests.llm.conftest import SERVED_NAME, free_port, gguf_path

STANDIN = Path(__file__).with_name("vllm_standin.py")
PHI3 = "microsoft/Phi-3-mini-4k-instruct"
QUESTION = [ChatMessage("user", "Say hello.")]
OPTIONS = GenerationOptions(max_tokens=12, temperature=0.0)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _config(tmp_path: Path, executable: Path, **changes):
    models = tmp_path / "models"
    (models / PHI3.replace("/", "--")).mkdir(parents=True, exist_ok=True)  # a "downloaded" model folder
    base = {"paths.models": str(models), "paths.logs": str(tmp_path / "logs"),
            "llm.vllm.executable": str(executable), "llm.vllm.port": free_port(),
            "llm.vllm.startup_timeout_s": 90}
    base.update(changes)
    return load_config(environ={}).replace(**base)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_starts_serves_and_stops_vllm(tmp_path, monkeypatch):
    monkeypatch.setenv("LABVOICE_STANDIN_GGUF", str(gguf_path()))
    monkeypatch.setenv("LABVOICE_STANDIN_HEALTH_DELAY_S", "1")
    executable = _script(tmp_path / "vllm", f'exec "{sys.executable}" "{STANDIN}" "$@"')
    config = _config(tmp_path, executable)
    chat = VllmChat.from_config(config)
    try:
        server = chat.server
        assert server is not None and server.running()
        assert chat.base_url == f"http://127.0.0.1:{config.llm.vllm.port}/v1"
        assert chat.stop == ("<|end|>", "<|endoftext|>")
        answer = "".join(chat.stream_chat(QUESTION, OPTIONS, CancelToken()))
        assert answer.strip()
        log_text = server.log_path.read_text()
        argv = json.loads(log_text.split("standin argv ", 1)[1].split(" HF_HUB_OFFLINE=")[0])
        assert argv == ["serve", str(tmp_path / "models" / PHI3.replace("/", "--")),
                        "--served-model-name", PHI3, "--host", "127.0.0.1", "--port", str(config.llm.vllm.port),
                        "--gpu-memory-utilization", "0.45", "--max-model-len", "4096", "--dtype", "bfloat16"]
        assert "HF_HUB_OFFLINE=1" in log_text
        pid = server.process.pid
    finally:
        chat.close()
    assert not server.running() and not _alive(pid)


def test_existing_server_is_used_not_started(tmp_path, llama_server):
    config = _config(tmp_path, tmp_path / "no-vllm-here", **{"llm.vllm.base_url": llama_server.base_url,
                                                              "llm.vllm.model": SERVED_NAME})
    chat = VllmChat.from_config(config)
    try:
        assert chat.server is None
        assert "".join(chat.stream_chat(QUESTION, OPTIONS, CancelToken())).strip()
    finally:
        chat.close()


def test_crash_during_start_quotes_the_log(tmp_path):
    executable = _script(tmp_path / "vllm",
                         'echo "loading model"; echo "torch.OutOfMemoryError: CUDA out of memory"; exit 3')
    with pytest.raises(LlmError, match="vLLM exited with code 3 while starting.*CUDA out of memory"):
        VllmChat.from_config(_config(tmp_path, executable))


def test_startup_timeout_kills_the_process(tmp_path):
    pid_file = tmp_path / "pid"
    executable = _script(tmp_path / "vllm", f'echo $$ > "{pid_file}"; echo "compiling CUDA graphs"; exec sleep 600')
    config = _config(tmp_path, executable, **{"llm.vllm.startup_timeout_s": 1.5})
    with pytest.raises(LlmError, match=r"did not become healthy .* within 1\.5 s.*compiling CUDA graphs"):
        VllmChat.from_config(config)
    assert not _alive(int(pid_file.read_text()))


def test_missing_vllm_install_names_the_setup_script(tmp_path):
    server = VllmServer("model", served_model_name="m", port=free_port(), executable=tmp_path / "absent")
    with pytest.raises(LlmError, match="setup_vllm.sh"):
        server.start()
    assert DEFAULT_EXECUTABLE.parts[-4:] == ("vllm", ".venv", "bin", "vllm")


def test_port_in_use_is_reported(tmp_path):
    executable = _script(tmp_path / "vllm", "exit 0")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = VllmServer("model", served_model_name="m", port=busy.getsockname()[1], executable=executable)
        with pytest.raises(LlmError, match="already in use"):
            server.start()


def test_missing_model_names_the_download(tmp_path):
    config = load_config(environ={}).replace(**{"paths.models": str(tmp_path)})
    with pytest.raises(ModelMissing, match="download_models.py"):
        VllmChat.from_config(config)
