"""MLflow: runs from a local `mlruns` folder, a `sqlite:///` tracking DB or an `http(s)://` tracking server,
read through MLflow's own client (`MlflowClient.search_runs`, page by page).

Per run: params (text made numbers where they are), final metrics, each metric's history (the curves),
user tags (`mlflow.*` system tags left out), the run name, the note (`mlflow.note.content`), the git
commit and source script, the top-level artifact paths, and for a server the run's web page (in
`wandb_url`, the column for the run's page on its tracker). The dataset is a `dataset`-like param or
tag, else the name of the run's logged input dataset, else the experiment name (not "Default").
Deleted runs and experiments are not imported. The run's key is `mlflow run <run uuid>`.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

from mlflow.entities import ViewType           # the importers extra: imported here so the factory says so
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from labvoice.knowledge.importers.base import (ImportedRun, Skipped, SourceError, coerce, finite_metrics,
                                               guess_dataset)

log = logging.getLogger(__name__)

PAGE_RUNS = 1000
HEALTH_TIMEOUT_S = 5.0
SERVER_RETRIES = "2"          # MLflow's default retries a dead server for minutes
NOTE_TAG = "mlflow.note.content"
GIT_TAG = "mlflow.source.git.commit"
SOURCE_TAG = "mlflow.source.name"
DEFAULT_EXPERIMENT = "Default"


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


class MlflowImporter:
    kind = "mlflow"
    expects = "a local mlruns folder, a sqlite:///path/mlflow.db tracking URI or an http:// tracking server"

    def __init__(self, curves: bool = True, artifacts: bool = True) -> None:
        self.curves = curves
        self.artifacts = artifacts

    # -- where the runs are ---------------------------------------------------------------------

    def tracking_uri(self, source: str) -> str:
        """The tracking URI for SOURCE, after checking that it is there (SourceError if not): MLflow
        itself would create an empty store at a wrong path instead of saying so."""
        if source.startswith(("http://", "https://")):
            import httpx

            try:
                httpx.get(source.rstrip("/") + "/health", timeout=HEALTH_TIMEOUT_S).raise_for_status()
            except httpx.HTTPError as err:
                raise SourceError(f"mlflow server {source} is not answering ({err.__class__.__name__}: {err}); "
                                  f"expected {self.expects}") from None
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", SERVER_RETRIES)
            return source.rstrip("/")
        if source.startswith("sqlite:///"):
            path = Path(source[len("sqlite:///"):])
            if not path.is_file():
                raise SourceError(f"mlflow tracking DB {path} not found; expected {self.expects}")
            try:
                with sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True) as conn:
                    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                conn.close()
            except sqlite3.DatabaseError as err:
                raise SourceError(f"{path} is not a SQLite database ({err}); expected {self.expects}") from None
            if not {"experiments", "runs"} <= tables:
                raise SourceError(f"{path} is not an MLflow tracking DB (no experiments/runs tables); "
                                  f"expected {self.expects}")
            return f"sqlite:///{path.resolve()}"
        path = Path(_local_path(source))
        if not path.is_dir():
            raise SourceError(f"mlflow source {source} not found; expected {self.expects}")
        for folder in (path, path / "mlruns"):
            if folder.is_dir() and any((child / "meta.yaml").is_file() for child in folder.iterdir() if child.is_dir()):
                return folder.resolve().as_uri()
        raise SourceError(f"{source} is not an mlruns folder (no <experiment>/meta.yaml in it); "
                          f"expected {self.expects}")

    # -- the runs -------------------------------------------------------------------------------

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        uri = self.tracking_uri(source)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")     # reading a legacy mlruns folder
        client = MlflowClient(tracking_uri=uri)
        try:
            experiments = self._experiments(client)
        except MlflowException as err:
            raise SourceError(f"mlflow source {source} cannot be read ({err.message.splitlines()[0]}); "
                              f"expected {self.expects}") from None
        for experiment in experiments:
            token = None
            while True:
                try:
                    page = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ACTIVE_ONLY,
                                              max_results=PAGE_RUNS, page_token=token)
                except MlflowException as err:
                    yield Skipped(f"experiment {experiment.name}", f"its runs cannot be read: {err.message.splitlines()[0]}")
                    break
                for run in page:
                    try:
                        yield self._convert(client, uri, experiment, run)
                    except (MlflowException, OSError, ValueError) as err:
                        yield Skipped(f"mlflow run {run.info.run_id}", str(err).splitlines()[0])
                token = page.token
                if not token:
                    break

    def _experiments(self, client) -> list:
        found, token = [], None
        while True:
            page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=PAGE_RUNS, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                return found

    def _convert(self, client, uri: str, experiment, run) -> ImportedRun:
        info, data = run.info, run.data
        tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
        params = {k: coerce(v) for k, v in data.params.items()}
        inputs = getattr(run, "inputs", None)
        input_names = [d.dataset.name for d in (getattr(inputs, "dataset_inputs", None) or []) if d.dataset.name]
        fallback = input_names[0] if input_names else (experiment.name if experiment.name != DEFAULT_EXPERIMENT else "")
        curves = self._curves(client, info.run_id, data.metrics) if self.curves else {}
        return ImportedRun(
            source_key=f"mlflow run {info.run_id}",
            location=uri,
            name=info.run_name or "",
            dataset_id=guess_dataset(params, tags, fallback=fallback),
            started=datetime.fromtimestamp(info.start_time / 1000, tz=timezone.utc) if info.start_time else None,
            params=params,
            metrics=finite_metrics(data.metrics),
            curves=curves,
            tags={**tags, "experiment": experiment.name},
            artifacts=self._artifacts(client, info) if self.artifacts else (),
            note=data.tags.get(NOTE_TAG, ""),
            url=f"{uri}/#/experiments/{experiment.experiment_id}/runs/{info.run_id}" if uri.startswith("http") else "",
            git_hash=data.tags.get(GIT_TAG, ""),
            program=data.tags.get(SOURCE_TAG, ""),
        )

    def _curves(self, client, run_id: str, metrics: dict[str, Any]) -> dict[str, tuple[tuple[float, float], ...]]:
        curves = {}
        for key in metrics:
            history = client.get_metric_history(run_id, key)
            points = sorted((float(m.step), float(m.value)) for m in history if finite_metrics({"v": m.value}))
            if len(points) > 1:          # one point is a final value, not a curve
                curves[key] = tuple(points)
        return curves

    def _artifacts(self, client, info) -> tuple[str, ...]:
        root = info.artifact_uri.rstrip("/")
        if root.startswith("file:"):        # a local artifact folder: listing it directly halves the import
            folder = Path(_local_path(root))
            return tuple(sorted(str(child) for child in folder.iterdir())) if folder.is_dir() else ()
        try:
            listed = client.list_artifacts(info.run_id)
        except Exception as err:  # an unreachable artifact store must not lose the run's metrics
            log.info("artifacts of mlflow run %s not listed: %s", info.run_id, err)
            return ()
        return tuple(f"{root}/{f.path}" for f in listed)
