"""TensorBoard: one run per folder of event files (`events.out.tfevents.*`) under SOURCE, read with
TensorBoard's own EventAccumulator.

Scalars (and scalar tensors, as TF2 writes them) become curves, and their last value by step the final
metrics; a tag's `/` becomes `_` (`val/accuracy` -> `val_accuracy`). Hyper-parameters written by the
hparams plugin (`SummaryWriter.add_hparams`, Keras' hparams callback) become params; PyTorch's
add_hparams writes them into a child folder of the run, which is merged into its parent run. The
dataset is a `dataset`-like hyper-parameter. The run's key is `tensorboard run <source
folder name>/<run folder relative to it>`.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from tensorboard.backend.event_processing import event_accumulator as ea   # the importers extra
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

from labvoice.knowledge.importers.base import STEP_COUNTERS, ImportedRun, Skipped, SourceError, guess_dataset
from labvoice.knowledge.rows import as_number

EVENT_FILE_MARK = "tfevents"
HPARAMS_PLUGIN = "hparams"


def _float32(value: float) -> float:
    """A scalar as TensorBoard stored it (float32), without the noise digits of widening it to float64."""
    return float(f"{value:.7g}")


def _metric_name(tag: str) -> str:
    return tag.strip("/").replace("/", "_").replace(" ", "_")


def _hparams(acc) -> dict[str, Any]:
    """The hyper-parameters of the hparams plugin's session start info, if the events hold one."""
    try:
        contents = acc.PluginTagToContent(HPARAMS_PLUGIN)
    except KeyError:
        return {}
    params: dict[str, Any] = {}
    for content in contents.values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.WhichOneof("data") != "session_start_info":
            continue
        for name, value in data.session_start_info.hparams.items():
            kind = value.WhichOneof("kind")
            if kind == "number_value":
                number = value.number_value
                params[name] = int(number) if float(number).is_integer() else number
            elif kind == "string_value":
                params[name] = value.string_value
            elif kind == "bool_value":
                params[name] = value.bool_value
    return params


class TensorboardImporter:
    kind = "tensorboard"
    expects = "a folder with TensorBoard event files (events.out.tfevents.*) in it or in its sub-folders"

    def _run_folders(self, root: Path) -> list[Path]:
        folders = sorted({Path(dirpath) for dirpath, _dirs, files in os.walk(root)
                          if any(EVENT_FILE_MARK in name for name in files)})
        if not folders:
            raise SourceError(f"no TensorBoard event files under {root}; expected {self.expects}")
        return folders

    def _read(self, folder: Path) -> tuple[dict, dict, dict, float | None]:
        """(curves by metric, final metrics, hparams, first event time) of one folder's event files."""
        acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
        acc.Reload()
        tags = acc.Tags()
        curves: dict[str, list[tuple[float, float]]] = {}
        for tag in tags.get(ea.SCALARS, []):
            curves[_metric_name(tag)] = [(float(e.step), _float32(e.value)) for e in acc.Scalars(tag)]
        for tag in tags.get(ea.TENSORS, []):
            points = []
            for event in acc.Tensors(tag):
                array = tensor_util.make_ndarray(event.tensor_proto)
                number = as_number(array.item()) if array.size == 1 and array.dtype.kind in "fiu" else None
                if number is not None and array.dtype.kind == "f" and array.dtype.itemsize == 4:
                    number = _float32(number)
                if number is not None:
                    points.append((float(event.step), number))
            if points:
                curves.setdefault(_metric_name(tag), points)
        clean = {name: tuple(sorted(p for p in points if as_number(p[1]) is not None))
                 for name, points in curves.items() if name.lower() not in STEP_COUNTERS}
        final = {name: points[-1][1] for name, points in clean.items() if points}
        try:
            started = acc.FirstEventTimestamp()
        except ValueError:
            started = None
        return {k: v for k, v in clean.items() if len(v) > 1}, final, _hparams(acc), started

    def iter_runs(self, source: str) -> Iterator[ImportedRun | Skipped]:
        root = Path(source)
        if not root.is_dir():
            raise SourceError(f"tensorboard source {source} not found; expected {self.expects}")
        root = root.resolve()
        folders = self._run_folders(root)
        read: dict[Path, tuple] = {}
        for folder in folders:
            try:
                read[folder] = self._read(folder)
            except Exception as err:  # a corrupt event file loses only its own run
                yield Skipped(str(folder.relative_to(root.parent)), f"event files not readable: {err}")
        for folder in list(read):       # add_hparams' child folder: hparams and metrics for its parent
            parent = folder.parent
            if folder != root and parent in read and read[folder][2]:
                curves, final, hparams, started = read.pop(folder)
                p_curves, p_final, p_hparams, p_started = read[parent]
                read[parent] = ({**curves, **p_curves}, {**final, **p_final}, {**hparams, **p_hparams},
                                p_started or started)
        for folder, (curves, final, hparams, started) in read.items():
            rel = folder.relative_to(root).as_posix()
            if not final and not hparams:
                yield Skipped(f"tensorboard run {rel}", "no scalars or hyper-parameters in its event files")
                continue
            name = root.name if rel == "." else rel
            yield ImportedRun(
                source_key=f"tensorboard run {root.name}/{rel}",
                location=str(folder),
                name=name,
                dataset_id=guess_dataset(hparams),
                started=datetime.fromtimestamp(started, tz=timezone.utc) if started else None,
                params=hparams,
                metrics=final,
                curves=curves,
            )
