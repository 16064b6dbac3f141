"""The `log_run` decorator: the only code that records training runs into the manifests DB.

Usage::

    @log_run(db="data/runs.db", dataset_id="digits")
    def train(*, lr: float, epochs: int, run_id: str) -> dict:
        ...
        return {"metrics": {"val_accuracy": 0.97}, "artifacts": [f"out/{run_id}.pkl"]}

    logged = train(lr=0.1, epochs=5)      # -> LoggedRun(run_id=..., metrics=..., artifacts=...)

Contract:
- The dataset id comes from the decorator (`dataset_id=`) or, when that is None, from the call's
  `dataset_id` / `dataset` argument. A run without one is refused (`LogRunError`).
- The run id is a fresh 8-hex-digit id, or the decorator's fixed `run_id`, or a `run_id=` the
  caller passes. The function receives it as a `run_id` keyword argument when its signature has
  one (or **kwargs); `current_run_id()` (also `log_run.current_run_id()`) returns it from anywhere
  inside the call, so artifact files can be named after the run.
- The function returns a mapping with `metrics` (name -> number, the final metrics) and optionally
  `artifacts`: a list of paths, or a mapping of name -> path whose paths are kept. `artifacts_json`
  holds them as the documented JSON list of paths. Non-finite metric values are stored as JSON null
  (readers skip them). Anything else raises `LogRunError`, and nothing is recorded.
- params_json holds the call's arguments (positional ones bound to their names, defaults filled in,
  `run_id` left out); values JSON cannot hold are stored as their `str()`.
- A function that raises records nothing; the exception propagates unchanged.
- Each run is committed in its own transaction before the decorated call returns.

Git state (`git rev-parse HEAD`, `git diff HEAD`), the installed distributions and the device line
are captured once per process (per working folder for git): the code a process runs is the code
it imported when it started, and capturing them per run would cost two subprocesses per run.
"""
from __future__ import annotations

import contextvars
import functools
import importlib.metadata
import inspect
import json
import logging
import math
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from labvoice.hardware import device_summary
from labvoice.knowledge.store import COLUMNS, connect_rw

log = logging.getLogger(__name__)

RUN_ID_HEX_CHARS = 8
GIT_TIMEOUT_S = 10.0
DATASET_ARG_NAMES = ("dataset_id", "dataset")
RUN_ID_ARG = "run_id"

_current_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("labvoice_run_id", default=None)


class LogRunError(ValueError):
    """A run cannot be recorded as called; the message says what to change."""


@dataclass(frozen=True)
class LoggedRun:
    """What a `log_run`-decorated call returns: the recorded run and the function's own result."""

    run_id: str
    dataset_id: str
    metrics: dict[str, float | None]
    artifacts: tuple[str, ...]          # the artifact paths, as recorded in artifacts_json
    params: dict[str, Any]
    result: Mapping[str, Any] = field(repr=False, default_factory=dict)


def new_run_id() -> str:
    """A short random run id: 8 lowercase hex digits."""
    return uuid.uuid4().hex[:RUN_ID_HEX_CHARS]


def current_run_id() -> str | None:
    """The id of the run being recorded in this thread/context, or None outside a logged call."""
    return _current_run_id.get()


@functools.lru_cache(maxsize=None)
def _git_state(cwd: str) -> tuple[str, str]:
    """(HEAD hash, `git diff HEAD`) for the repo holding cwd; ("", "") outside a git repo."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())
        return done.stdout

    try:
        head = git("rev-parse", "HEAD").strip()
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "", ""
    try:
        diff = git("diff", "HEAD")
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        diff = ""
    return head, diff


@functools.lru_cache(maxsize=1)
def pip_freeze() -> str:
    """`name==version` per installed distribution, sorted, from importlib.metadata (no pip call)."""
    lines = set()
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            lines.add(f"{name}=={dist.version}")
    return "\n".join(sorted(lines, key=str.lower))


@functools.lru_cache(maxsize=1)
def _device_info() -> str:
    return device_summary()


def _json_value(value: Any) -> Any:
    """A JSON-safe copy: containers recursed, non-finite floats -> None, other objects -> str."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return _json_value(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _check_metrics(raw: Any, name: str) -> dict[str, float | None]:
    if not isinstance(raw, Mapping):
        raise LogRunError(f"{name} must return {{'metrics': {{name: number}}, 'artifacts': {{...}}}}; "
                          f"'metrics' is {type(raw).__name__}")
    metrics: dict[str, float | None] = {}
    for key, value in raw.items():
        if hasattr(value, "item") and callable(value.item) and not isinstance(value, (int, float)):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LogRunError(f"{name}: metric {key!r} = {value!r} is not a number; return numbers only")
        number = float(value)
        if not math.isfinite(number):
            log.warning("%s: metric %s is %s; stored as null", name, key, number)
        metrics[str(key)] = number if math.isfinite(number) else None
    if not metrics:
        raise LogRunError(f"{name} returned no final metrics; return {{'metrics': {{...}}}}")
    return metrics


def _artifact_paths(raw: Any, name: str) -> tuple[str, ...]:
    """The artifact paths from a list of paths or a mapping of name -> path (the names are not stored)."""
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, (list, tuple)):
        items = [(str(i), value) for i, value in enumerate(raw)]
    else:
        raise LogRunError(f"{name}: 'artifacts' must be a list of paths (or a dict of name -> path), "
                          f"got {type(raw).__name__}")
    paths = []
    for key, value in items:
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
            raise LogRunError(f"{name}: artifact {key!r} = {value!r} is not a path; return file paths only")
        paths.append(os.fspath(value))
    return tuple(dict.fromkeys(paths))


def _check_result(result: Any, name: str) -> tuple[dict[str, float | None], tuple[str, ...]]:
    if not isinstance(result, Mapping) or "metrics" not in result:
        raise LogRunError(f"{name} must return a dict like {{'metrics': {{...}}, 'artifacts': [paths]}}; "
                          f"got {type(result).__name__}")
    metrics = _check_metrics(result["metrics"], name)
    return metrics, _artifact_paths(result.get("artifacts") or (), name)


def build_manifest_row(*, run_id: str, dataset_id: str, params: Mapping[str, Any],
                       metrics: Mapping[str, float | None], artifacts: Any = ()) -> dict[str, Any]:
    """One `manifests` row for a finished run, with this process's provenance filled in; `artifacts`
    is a list of paths (or a mapping of name -> path), written as the documented JSON list."""
    git_hash, git_diff = _git_state(os.getcwd())
    return {
        "run_id": run_id,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "git_hash": git_hash,
        "git_diff": git_diff,
        "command": shlex.join(sys.argv) if sys.argv else "",
        "python_version": platform.python_version(),
        "pip_freeze": pip_freeze(),
        "device_info": _device_info(),
        "dataset_id": dataset_id,
        "params_json": json.dumps(_json_value(dict(params)), sort_keys=True),
        "final_metrics_json": json.dumps(dict(metrics), sort_keys=True),
        "artifacts_json": json.dumps(list(_artifact_paths(artifacts, "build_manifest_row"))),
        "wandb_url": "",
        "note": "",
    }


def insert_row(conn: sqlite3.Connection, row: Mapping[str, Any]) -> None:
    """Insert one manifests row in its own committed transaction; a duplicate id is refused."""
    placeholders = ", ".join("?" for _ in COLUMNS)
    try:
        with conn:
            conn.execute(f"INSERT INTO manifests ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                         tuple(row.get(c, "") for c in COLUMNS))
    except sqlite3.IntegrityError:
        raise LogRunError(f"run id {row['run_id']!r} is already recorded; pass a new run_id or none") from None


def _is_recorded(db_path: Path, run_id: str) -> bool:
    if not db_path.is_file():
        return False
    conn = connect_rw(db_path)
    try:
        return conn.execute("SELECT 1 FROM manifests WHERE run_id = ?", (run_id,)).fetchone() is not None
    finally:
        conn.close()


def _bind_params(sig: inspect.Signature, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return dict(kwargs)  # the call itself will raise the real TypeError
    bound.apply_defaults()
    params: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            params.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                params[name] = list(value)
        else:
            params[name] = value
    params.pop(RUN_ID_ARG, None)
    return params


def _dataset_from(params: Mapping[str, Any], fixed: str | None, name: str) -> str:
    if fixed:
        return str(fixed)
    for key in DATASET_ARG_NAMES:
        if params.get(key):
            return str(params[key])
    raise LogRunError(f"{name}: no dataset id; pass log_run(dataset_id=...) or call it with dataset=...")


def log_run(*, db: str | os.PathLike, dataset_id: str | None = None,
            run_id: str | None = None) -> Callable[[Callable], Callable[..., LoggedRun]]:
    """Decorate a training function so each call is recorded as one run in the manifests DB `db`."""
    db_path = Path(db)

    def decorate(fn: Callable) -> Callable[..., LoggedRun]:
        sig = inspect.signature(fn)
        wants_run_id = RUN_ID_ARG in sig.parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
        name = getattr(fn, "__qualname__", repr(fn))

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> LoggedRun:
            chosen = kwargs.pop(RUN_ID_ARG, None) or run_id
            rid = str(chosen or new_run_id())
            call_kwargs = {**kwargs, RUN_ID_ARG: rid} if wants_run_id else kwargs
            params = _bind_params(sig, args, call_kwargs)
            dataset = _dataset_from(params, dataset_id, name)
            if chosen and _is_recorded(db_path, rid):  # fail before training, not after
                raise LogRunError(f"run id {rid!r} is already recorded in {db_path}; pass a new run_id or none")
            token = _current_run_id.set(rid)
            try:
                result = fn(*args, **call_kwargs)
            finally:
                _current_run_id.reset(token)
            metrics, artifacts = _check_result(result, name)
            row = build_manifest_row(run_id=rid, dataset_id=dataset, params=params,
                                     metrics=metrics, artifacts=artifacts)
            conn = connect_rw(db_path)
            try:
                insert_row(conn, row)
            finally:
                conn.close()
            log.debug("recorded run %s (%s) in %s", rid, dataset, db_path)
            return LoggedRun(run_id=rid, dataset_id=dataset, metrics=metrics, artifacts=artifacts,
                             params=json.loads(row["params_json"]), result=result)

        return wrapper

    return decorate


log_run.current_run_id = current_run_id  # type: ignore[attr-defined]
