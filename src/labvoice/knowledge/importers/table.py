"""Run tables: a CSV file (one run per row, a header row) or a JSONL file (one JSON object per line).

Which column is what comes from a column map; each entry has a default guessed from common names:
- id (`--id-col`): run_id, id, run, run_name, name; without one the row number is the run's id
  (stable as long as rows are only appended);
- dataset (`--dataset-col`), model (`--model-col`, stored as the `model` parameter), time
  (`--time-col`), note (`--note-col`);
- metrics (`--metric-cols`): numeric columns whose names look like metrics (accuracy, loss, f1, auc,
  rmse, mae, r2, score, time, ...) or start with val_/test_/train_/eval_;
- params (`--param-cols`): every other column.
A JSONL object may instead hold `params`/`config` and `metrics`/`summary` objects, which are used as
they are. Empty cells are left out; numeric text becomes a number. A row that cannot be read (a bad
JSON line, no usable values) is skipped and reported with its line number.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from labvoice.knowledge.importers.base import (DATASET_KEYS, ImportedRun, Skipped, SourceError, coerce,
                                               guess_dataset)
from labvoice.knowledge.rows import as_number, parse_timestamp

ID_NAMES = ("run_id", "id", "run", "run_name", "name", "trial_id", "trial")
MODEL_NAMES = ("model", "model_name", "model_type", "arch", "architecture", "estimator", "algorithm")
TIME_NAMES = ("timestamp", "time", "date", "datetime", "created_at", "created", "start_time", "started_at")
NOTE_NAMES = ("note", "notes", "comment", "comments", "description")
METRIC_WORDS = re.compile(r"(^|_)(acc|accuracy|loss|f1|auc|roc|rmse|mse|mae|mape|r2|score|precision|recall|"
                          r"error|err|perplexity|ppl|bleu|rouge|map|iou|dice|time|seconds|duration|runtime)($|_)")
METRIC_PREFIXES = ("val_", "valid_", "validation_", "test_", "train_", "eval_", "metrics.", "metric_")
JSONL_PARAM_KEYS = ("params", "config", "hyperparameters", "hparams")
JSONL_METRIC_KEYS = ("metrics", "summary", "final_metrics", "results")


@dataclass(frozen=True)
class ColumnMap:
    """Which column is what; None = guess from the column names."""

    id_col: str | None = None
    dataset_col: str | None = None
    model_col: str | None = None
    time_col: str | None = None
    note_col: str | None = None
    metric_cols: tuple[str, ...] | None = None
    param_cols: tuple[str, ...] | None = None

    def resolve(self, names: Sequence[str], sample: Mapping[str, Any]) -> "ColumnMap":
        """Every entry filled in for a table with these column names (`sample`: a first row's values)."""
        lowered = {n.lower(): n for n in names}

        def pick(given: str | None, options: Sequence[str], what: str) -> str | None:
            if given is not None:
                if given not in names:
                    raise SourceError(f"--{what}-col {given!r} is not a column; the columns are {', '.join(names)}")
                return given
            return next((lowered[o] for o in options if o in lowered), None)

        id_col = pick(self.id_col, ID_NAMES, "id")
        dataset_col = pick(self.dataset_col, DATASET_KEYS, "dataset")
        model_col = pick(self.model_col, MODEL_NAMES, "model")
        time_col = pick(self.time_col, TIME_NAMES, "time")
        note_col = pick(self.note_col, NOTE_NAMES, "note")
        taken = {c for c in (id_col, dataset_col, model_col, time_col, note_col) if c}
        for given, what in ((self.metric_cols, "metric"), (self.param_cols, "param")):
            unknown = [c for c in (given or ()) if c not in names]
            if unknown:
                raise SourceError(f"--{what}-cols {', '.join(unknown)}: not a column; the columns are {', '.join(names)}")
        rest = [n for n in names if n not in taken]
        if self.metric_cols is not None:
            metrics = tuple(self.metric_cols)
        else:
            params_given = set(self.param_cols or ())
            metrics = tuple(n for n in rest if n not in params_given and _looks_like_metric(n, sample.get(n)))
        params = tuple(self.param_cols) if self.param_cols is not None else tuple(n for n in rest if n not in metrics)
        return ColumnMap(id_col, dataset_col, model_col, time_col, note_col, metrics, params)


def _looks_like_metric(name: str, value: Any) -> bool:
    lowered = name.lower()
    named = lowered.startswith(METRIC_PREFIXES) or bool(METRIC_WORDS.search(lowered))
    return named and (value in (None, "") or as_number(value) is not None)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


class _TableImporter:
    kind = "table"
    expects = "a table file"

    def __init__(self, columns: ColumnMap | None = None, **options: Any) -> None:
        self.columns = columns or ColumnMap(**{k: v for k, v in options.items() if v is not None})

    def _open(self, source: str) -> Path:
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"{self.kind} source {source} not found: expected {self.expects}")
        self._location = str(path.resolve())
        return path

    def _run(self, row: Mapping[str, Any], number: int, cols: ColumnMap, path: Path,
             params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None) -> ImportedRun | Skipped:
        what = f"{path.name} row {number}"
        native = row.get(cols.id_col) if cols.id_col else None
        native = str(native).strip() if _present(native) else f"row {number}"
        values = {c: coerce(row[c]) for c in (cols.param_cols or ()) if c in row and _present(row[c])}
        values.update({k: coerce(v) for k, v in (params or {}).items() if _present(v)})
        if cols.model_col and _present(row.get(cols.model_col)):
            values.setdefault("model", str(row[cols.model_col]).strip())
        found = {c: as_number(row.get(c)) for c in (cols.metric_cols or ())}
        found.update({str(k): as_number(v) for k, v in (metrics or {}).items()})
        final = {k: v for k, v in found.items() if v is not None}
        dataset = str(row.get(cols.dataset_col) or "").strip() if cols.dataset_col else ""
        dataset = dataset or guess_dataset(values)
        if not final and not values and not dataset:
            return Skipped(what, "no metrics, parameters or dataset in it")
        return ImportedRun(
            source_key=f"{self.kind} run {native} of {path.name}", location=self._location,
            dataset_id=dataset, started=parse_timestamp(row.get(cols.time_col)) if cols.time_col else None,
            params=values, metrics=final,
            note=str(row.get(cols.note_col) or "").strip() if cols.note_col else "")


class CsvImporter(_TableImporter):
    kind = "csv"
    expects = "a CSV file with a header row and one run per row"

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        path = self._open(source)
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            sample = fh.read(64 * 1024)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|") if sample else csv.excel
            except csv.Error:
                dialect = csv.excel
            reader = csv.DictReader(fh, dialect=dialect)
            names = [n for n in (reader.fieldnames or []) if n]
            if len(names) < 2:
                raise SourceError(f"csv source {source} has no header row with column names: expected {self.expects}")
            cols: ColumnMap | None = None
            for number, row in enumerate(reader, start=1):
                if cols is None:
                    cols = self.columns.resolve(names, row)
                if None in row:          # more cells than the header has names
                    yield Skipped(f"{path.name} row {number}", f"{len(names) + len(row[None])} cells, the header has {len(names)}")
                    continue
                yield self._run(row, number, cols, path)


class JsonlImporter(_TableImporter):
    kind = "jsonl"
    expects = "a JSONL file: one JSON object per line"

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        path = self._open(source)
        maps: dict[tuple[str, ...], ColumnMap] = {}     # one resolved map per set of keys seen
        seen_object = False
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                what = f"{path.name} line {number}"
                try:
                    obj = json.loads(line)
                except ValueError as err:
                    if not seen_object and number == 1:
                        raise SourceError(f"jsonl source {source}: line 1 is not JSON ({err.msg}); "
                                          f"expected {self.expects}") from None
                    yield Skipped(what, f"not JSON ({err.msg})")
                    continue
                if not isinstance(obj, dict):
                    yield Skipped(what, f"a JSON {type(obj).__name__}, not an object")
                    continue
                seen_object = True
                params = next((obj[k] for k in JSONL_PARAM_KEYS if isinstance(obj.get(k), dict)), None)
                metrics = next((obj[k] for k in JSONL_METRIC_KEYS if isinstance(obj.get(k), dict)), None)
                flat = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
                keys = tuple(flat)
                cols = maps.get(keys) or maps.setdefault(keys, self.columns.resolve(list(flat), flat))
                row_cols = cols if params is None and metrics is None else ColumnMap(
                    cols.id_col, cols.dataset_col, cols.model_col, cols.time_col, cols.note_col, (), ())
                run = self._run(flat, number, row_cols, path, params, metrics)
                yield Skipped(what, run.why) if isinstance(run, Skipped) else run
