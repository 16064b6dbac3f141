"""Importers: runs from MLflow, W&B, TensorBoard and run tables into the manifests DB.

`python main.py import KIND SOURCE [--db PATH]`; KIND chooses one importer here (each its own module,
with the one `RunImporter` interface of base.py); `writer.RunWriter` upserts what it yields. The
tracker libraries are an optional extra (`pip install -e '.[importers]'`), imported only when their
importer is chosen.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from labvoice.backends import BackendUnavailable
from labvoice.cancel import CancelToken
from labvoice.knowledge.importers.base import ImportedRun, RunImporter, Skipped, SourceError
from labvoice.knowledge.importers.writer import ImportReport, RunWriter
from labvoice.privacy import quiet_environment

IMPORTERS = {
    "mlflow": "labvoice.knowledge.importers.mlflow_runs:MlflowImporter",
    "wandb": "labvoice.knowledge.importers.wandb_runs:WandbImporter",
    "tensorboard": "labvoice.knowledge.importers.tensorboard_runs:TensorboardImporter",
    "csv": "labvoice.knowledge.importers.table:CsvImporter",
    "jsonl": "labvoice.knowledge.importers.table:JsonlImporter",
}
EXTRA = "importers"

__all__ = ["IMPORTERS", "ImportReport", "ImportedRun", "RunImporter", "RunWriter", "Skipped", "SourceError",
           "import_runs", "make_importer"]


def make_importer(kind: str, **options: Any) -> RunImporter:
    """The importer for KIND; a missing tracker library is BackendUnavailable with the install line."""
    if kind not in IMPORTERS:
        raise SourceError(f"unknown import kind {kind!r}; choose one of {', '.join(IMPORTERS)}")
    module_name, _, cls_name = IMPORTERS[kind].partition(":")
    quiet_environment()      # before the tracker's client is imported: no usage data leaves the machine
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        package = (err.name or kind).split(".")[0]
        raise BackendUnavailable(f"importing from {kind} needs the {package} package; "
                                 f"install it with: pip install -e '.[{EXTRA}]'") from None
    return getattr(module, cls_name)(**options)


def import_runs(kind: str, source: str, db: str | os.PathLike, artifacts_dir: str | os.PathLike,
                progress: bool = False, cancel: CancelToken | None = None, **options: Any) -> ImportReport:
    """Read SOURCE with the KIND importer and upsert its runs into DB; returns what happened."""
    importer = make_importer(kind, **options)
    report = ImportReport(kind=kind, source=str(source), db=str(db))
    stream = importer.iter_runs(str(source))
    first = next(stream, None)          # a source that cannot be read fails here, before the DB is touched
    if first is None:
        return report

    def items():
        yield first
        yield from stream

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc=f"importing {kind} runs", unit="run", leave=False)
    try:
        return RunWriter(Path(db), Path(artifacts_dir)).write(items(), report, bar, cancel)
    finally:
        if bar is not None:
            bar.close()
