"""Nothing leaves the machine: `labvoice import mlflow` starts no MLflow usage reporting and makes no
network connection attempt.

The import runs in a child process (no pytest or CI variables, which MLflow itself treats as "do not
track", and a HOME of its own), inside a network namespace with no route when `unshare -rn` works
here, with a Python audit hook that records every `socket.connect` and `socket.getaddrinfo`. A control
arm with MLflow's telemetry switched on by the environment shows the probe can see the client start.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


from labvoice.privacy import TELEMETRY_OFF, quiet_environment


# Variables under which MLflow (mlflow/telemetry/utils.py) stays quiet on its own: the child drops them.
CI_VARS = ("PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS",
           "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION",
           "CLOUD_RUN_EXECUTION", "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME", "RUNBOT_WORKER_ID")

# Where `unshare -rn` is not allowed, an HTTP request (the control arm's telemetry) goes to a closed
# local port instead of the internet; the audit hook still records the attempt.
DEAD_PROXY = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
DEAD_PROXY.update(NO_PROXY="", no_proxy="")

MAKE_STORE = """
import sys, mlflow
mlflow.set_tracking_uri("sqlite:///" + sys.argv[1])
mlflow.set_experiment("digits")
with mlflow.start_run(run_name="tiny"):
    mlflow.log_param("learning_rate", 0.01)
    mlflow.log_metric("val_accuracy", 0.9)
"""

PROBE = """
import atexit, json, sys
attempts = []
def hook(event, args):
    if event == "socket.connect":
        attempts.append([event, repr(args[1])])
    elif event == "socket.getaddrinfo":
        attempts.append([event, repr(args[:2])])
sys.addaudithook(hook)
def report():
    client = None
    if "mlflow.telemetry" in sys.modules:
        client = sys.modules["mlflow.telemetry"].get_telemetry_client()
    print("PROBE " + json.dumps({"attempts": attempts, "telemetry_client": client is not None}), file=sys.stderr)
atexit.register(report)     # registered first, so it runs last: after MLflow's own exit handlers
from labvoice.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _no_route_prefix() -> list[str]:
    """`unshare -rn` (a network namespace with only a down loopback) where this machine allows it."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return []


def _child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_VARS and k not in TELEMETRY_OFF}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"), XDG_STATE_HOME=str(home / "state"),
               XDG_DATA_HOME=str(home / "share"), **DEAD_PROXY, **extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*_no_route_prefix(), sys.executable, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _probe(done: subprocess.CompletedProcess) -> dict:
    line = next(line for line in done.stderr.splitlines() if line.startswith("PROBE "))
    return json.loads(line[len("PROBE "):])


def test_quiet_environment_keeps_what_a_person_set():
    environ = {"WANDB_MODE": "online"}
    added = quiet_environment(environ)
    assert environ["WANDB_MODE"] == "online" and "WANDB_MODE" not in added
    assert environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and environ["DO_NOT_TRACK"] == "1"


def test_mlflow_import_starts_no_telemetry_and_connects_nowhere(tmp_path):
    store = tmp_path / "mlflow.db"
    made = _run(["-c", MAKE_STORE, str(store)], _child_env(tmp_path / "maker", MLFLOW_DISABLE_TELEMETRY="true"),
                tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    command = ["-c", PROBE, "import", "mlflow", f"sqlite:///{store}", "--json", "--no-curves"]

    control = _run([*command, "--db", str(tmp_path / "control.db")],
                   _child_env(tmp_path / "control", MLFLOW_DISABLE_TELEMETRY="false", DO_NOT_TRACK="false"), tmp_path)
    assert control.returncode == 0, control.stderr[-2000:]
    assert _probe(control)["telemetry_client"], "with telemetry on, MLflow's client should start (probe check)"

    ours = _run([*command, "--db", str(tmp_path / "runs.db")], _child_env(tmp_path / "ours"), tmp_path)
    assert ours.returncode == 0, ours.stderr[-2000:]
    report = json.loads(ours.stdout)
    assert report["added"] == 1
    probe = _probe(ours)
    assert probe["telemetry_client"] is False
    assert probe["attempts"] == []
