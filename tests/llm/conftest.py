"""A real OpenAI-compatible server on loopback for the HTTP chat clients: llama-cpp-python's own.

`llama_server` (session) serves the bundled SmolLM2 GGUF with `python -m llama_cpp.server`, the
stand-in for vLLM that DESIGN.md names. Tests that need to kill a server start their own with
`start_llama_server`. Server output goes to a log file the tests read (it prints a line when a
client disconnects mid-stream).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labvoice.models import ModelMissing, bundled_path

SERVED_NAME = "smollm2"
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
# One llama.cpp thread: the server shares 2 cores with pytest (and, on a busy box, with more);
# llama.cpp's spinning worker threads slow down several-fold when oversubscribed (measured here).
SERVER_THREADS = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LlamaServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def gguf_path() -> Path:
    try:
        return bundled_path("llm")
    except ModelMissing as err:
        pytest.skip(str(err))


def start_llama_server(log_dir: Path, name: str = "llama") -> LlamaServer:
    """Start `python -m llama_cpp.server` on a free loopback port; return once /v1/models answers."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] deps are not installed")
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
               "--model_alias", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port),
               "--n_threads", str(SERVER_THREADS), "--n_ctx", "2048"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = LlamaServer(process, port, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{server.log_text()[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    server = start_llama_server(tmp_path_factory.mktemp("llama-server"))
    yield server
    server.stop()
