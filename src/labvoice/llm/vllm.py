"""Phi-3 through vLLM (GPU profile): the app starts `vllm serve` in vLLM's own environment, or uses
one already running (`llm.vllm.base_url`), and talks to it with the OpenAI-compatible client.

vLLM lives in external/vllm/.venv (vLLM 0.33 wants torch 2.14 / CUDA 13, faster-whisper's
CTranslate2 wants CUDA 12), so it always runs as a separate process. `VllmServer` starts it with
capped GPU memory, waits for `GET /health`, and stops it (SIGTERM to its process group, SIGKILL
after a grace period) when the chat model closes or the interpreter exits. Failures name the fix
and quote the end of vLLM's log.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from labvoice.config import PROJECT_ROOT, project_root_for
from labvoice.locations import in_checkout
from labvoice.llm.base import LlmError
from labvoice.llm.openai_compat import OpenAIChat
from labvoice.models import resolve_model

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

if in_checkout():      # a checkout's own vLLM environment (external/vllm)
    DEFAULT_EXECUTABLE = PROJECT_ROOT / "external" / "vllm" / ".venv" / "bin" / "vllm"
    SETUP_HINT = "bash external/vllm/setup_vllm.sh"
else:                  # installed: a `vllm` on PATH, else the one llm.vllm.executable names
    DEFAULT_EXECUTABLE = Path(shutil.which("vllm") or "/usr/local/bin/vllm")
    SETUP_HINT = "install vLLM 0.33 in a venv of its own and set llm.vllm.executable to its bin/vllm"
LOG_NAME = "vllm.log"
HEALTH_POLL_S = 0.5
HEALTH_REQUEST_TIMEOUT_S = 2.0
STOP_GRACE_S = 20.0       # vLLM frees GPU memory on SIGTERM; give it time before SIGKILL
LOG_TAIL_LINES = 15
REQUEST_TIMEOUT_S = 60.0  # a token may take long while vLLM warms up (CUDA graphs) on the first request
# Nothing leaves the machine: no usage statistics from vLLM.
PRIVACY_ENV = {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(HEALTH_REQUEST_TIMEOUT_S)
        return sock.connect_ex((host, port)) == 0


class VllmServer:
    """One `vllm serve` process; usable as a context manager."""

    def __init__(self, model: str, *, served_model_name: str, host: str = "127.0.0.1", port: int = 8008,
                 gpu_memory_utilization: float = 0.45, max_model_len: int = 4096, dtype: str = "auto",
                 startup_timeout_s: float = 600.0, executable: Path = DEFAULT_EXECUTABLE,
                 log_path: Path | None = None, offline: bool = True) -> None:
        self.model = model
        self.served_model_name = served_model_name
        self.host = host
        self.port = port
        self.gpu_memory_utilization = gpu_memory_utilization
        self.max_model_len = max_model_len
        self.dtype = dtype
        self.startup_timeout_s = startup_timeout_s
        self.executable = Path(executable)
        self.log_path = Path(log_path) if log_path else Path(LOG_NAME)
        self.offline = offline
        self.process: subprocess.Popen | None = None

    @classmethod
    def from_config(cls, config: "Config") -> "VllmServer":
        """Serve models/<model> (never downloads); ModelMissing names the download command."""
        cfg = config.llm.vllm
        model_path = resolve_model("llm", cfg.model, config.paths.models)
        executable = cfg.executable or DEFAULT_EXECUTABLE
        if not executable.is_absolute():
            root = project_root_for(config.source) if config.source else PROJECT_ROOT
            executable = root / executable
        return cls(str(model_path), served_model_name=cfg.model, host=cfg.host, port=cfg.port,
                   gpu_memory_utilization=cfg.gpu_memory_utilization, max_model_len=cfg.max_model_len,
                   dtype=cfg.dtype, startup_timeout_s=cfg.startup_timeout_s, executable=executable,
                   log_path=config.paths.logs / LOG_NAME)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def health_url(self) -> str:
        return f"http://{self.host}:{self.port}/health"

    def command(self) -> list[str]:
        return [str(self.executable), "serve", self.model,
                "--served-model-name", self.served_model_name,
                "--host", self.host, "--port", str(self.port),
                "--gpu-memory-utilization", f"{self.gpu_memory_utilization:g}",
                "--max-model-len", str(self.max_model_len),
                "--dtype", self.dtype]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                tail = deque(fh, maxlen=lines)
        except OSError:
            return "(no log)"
        return " | ".join(line.strip() for line in tail if line.strip()) or "(log is empty)"

    def start(self) -> None:
        """Start vLLM and return once it is healthy; raise LlmError (one line) otherwise."""
        if self.running():
            return
        if not self.executable.is_file():
            raise LlmError(f"vLLM is not installed at {self.executable}; run: {SETUP_HINT} "
                           "(or set llm.vllm.base_url to a running server)")
        if _port_in_use(self.host, self.port):
            raise LlmError(f"port {self.port} on {self.host} is already in use; stop what runs there, "
                           "change llm.vllm.port, or set llm.vllm.base_url to use that server")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **PRIVACY_ENV}
        if self.offline:
            env["HF_HUB_OFFLINE"] = "1"  # weights come from models/, never from the hub at run time
        log.info("starting vLLM: %s (log: %s)", " ".join(self.command()), self.log_path)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        atexit.register(self.stop)
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self) -> None:
        started = time.monotonic()
        deadline = started + self.startup_timeout_s
        with httpx.Client(timeout=HEALTH_REQUEST_TIMEOUT_S) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise LlmError(f"vLLM exited with code {code} while starting; "
                                   f"last lines of {self.log_path}: {self.log_tail()}")
                try:
                    if client.get(self.health_url).status_code == httpx.codes.OK:
                        log.info("vLLM is ready at %s after %.1f s", self.base_url, time.monotonic() - started)
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() >= deadline:
                    raise LlmError(f"vLLM did not become healthy at {self.health_url} within "
                                   f"{self.startup_timeout_s:g} s (llm.vllm.startup_timeout_s); "
                                   f"last lines of {self.log_path}: {self.log_tail()}")
                time.sleep(HEALTH_POLL_S)

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it after STOP_GRACE_S; safe to call twice."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        log.info("stopping vLLM (pid %d)", process.pid)
        self._signal(process, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("vLLM ignored SIGTERM for %.0f s; killing it", STOP_GRACE_S)
            self._signal(process, signal.SIGKILL)
            process.wait()

    @staticmethod
    def _signal(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)  # vLLM spawns engine workers: reach them all
        except ProcessLookupError:
            pass

    def __enter__(self) -> "VllmServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class VllmChat(OpenAIChat):
    """The OpenAI-compatible client, owning the vLLM process when it started one."""

    name = "vllm"
    setting = "llm.vllm.base_url"

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = REQUEST_TIMEOUT_S, stop: tuple[str, ...] = (),
                 server: VllmServer | None = None) -> None:
        super().__init__(base_url, model, api_key=api_key, timeout_s=timeout_s, stop=stop)
        self.server = server

    @classmethod
    def from_config(cls, config: "Config") -> "VllmChat":
        """Connect to llm.vllm.base_url, or start `vllm serve` and wait until it is healthy."""
        cfg = config.llm.vllm
        if cfg.base_url:
            key = os.environ.get(config.llm.openai.api_key_env) or None
            return cls(cfg.base_url, cfg.model, api_key=key, stop=cfg.stop)
        server = VllmServer.from_config(config)  # ModelMissing names the download command
        server.start()
        return cls(server.base_url, cfg.model, stop=cfg.stop, server=server)

    def _where(self) -> str:
        return f"vLLM server at {self.base_url}"

    def close(self) -> None:
        super().close()
        if self.server is not None:
            self.server.stop()
