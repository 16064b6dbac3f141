"""The runs panel's data and chart, prepared off the Tk thread.

`load_runs` reads the runs an answer used from the manifests DB, picks the metric to show (the one
the answer's facts talk about), formats the table rows and reads each run's per-epoch metrics CSV
artifact; the answer's own rows say what picture fits it. `render` draws, with matplotlib's Agg canvas
into a PIL image: a grouped answer's groups (mean, spread and count), a parameter's effect (the metric
against the parameter), a distribution (a box), or a ranking (at most MAX_BARS runs, the rest counted),
or the metric curves per epoch. Both run in a worker thread: matplotlib figures made without pyplot are
independent objects, and drawing one can take longer than a Tk frame should wait; the window only
shows the finished image.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PREFERRED_METRICS = ("val_accuracy", "accuracy", "val_f1", "f1", "val_loss", "loss")
KEY_METRICS_SHOWN = 2      # metrics in the table's "key metrics" column (more do not fit)
MAX_CURVE_RUNS = 6         # more curves than this are unreadable in a panel this size
CURVES, LEADERBOARD = "curves", "leaderboard"
MAX_BARS = 15              # more bars than this overprint their labels: the rest are counted in the title
GROUP_SHAPES = ("group", "best_param_value")
PICTURES = ("runs", "groups", "effect", "distribution")
DPI = 100                  # pixels per inch for the Agg canvas: figure inches = pixels / DPI
MIN_SIZE_PX = (240, 160)
FONT_SIZE = 8
LIGHT = {"bg": "#ffffff", "fg": "#202124", "grid": "#dadce0", "bar": "#8ab4f8", "best": "#1967d2"}
DARK = {"bg": "#2b2b2b", "fg": "#e8eaed", "grid": "#4a4a4a", "bar": "#5f7db0", "best": "#8ab4f8"}


@dataclass(frozen=True)
class RunRow:
    run_id: str
    dataset: str
    model: str
    key_metrics: str
    note: str


@dataclass(frozen=True)
class RunsData:
    """What the panel shows for one answer."""

    rows: tuple[RunRow, ...]
    metric: str | None
    values: tuple[tuple[str, float], ...]                       # (run id, final metric), answer order
    curves: tuple[tuple[str, tuple[float, ...], tuple[float, ...]], ...] = ()  # (run id, epochs, values)
    missing: tuple[str, ...] = ()                                # run ids not in the DB (any more)
    lower_is_better: bool = False
    picture: str = "runs"                                        # one of PICTURES
    groups: tuple[tuple[str, float, float, int], ...] = ()      # (label, value, spread, runs) per group
    statistic: str = ""                                          # what a group's value is: mean, count, max ...
    stats: tuple[tuple[str, float], ...] = ()                    # a distribution's min, q1, median, q3, max
    total: int = 0                                               # runs in a ranking, shown or not


def fmt(value: float) -> str:
    return f"{value:.4g}"


def chart_metric(runs: list[Any], facts: tuple[dict, ...]) -> str | None:
    """The metric the answer was about: the longest metric name its facts mention, else a usual one."""
    names = sorted({m for run in runs for m in run.metrics}, key=len, reverse=True)
    said = " ".join(str(fact.get("text", "")) for fact in facts)
    for name in names:
        if name in said:
            return name
    for name in PREFERRED_METRICS:
        if name in names:
            return name
    return names[-1] if names else None


def _key_metrics(metrics: dict[str, float], first: str | None) -> str:
    usual = [k for k in PREFERRED_METRICS if k in metrics and k != first]
    order = ([first] if first in metrics else []) + usual + sorted(k for k in metrics if k != first and k not in usual)
    return ", ".join(f"{k} {metrics[k]:.3g}" for k in order[:KEY_METRICS_SHOWN])


def _read_curve(path: Any, metric: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    if not path or not Path(path).is_file():
        return None
    epochs, values = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            try:
                value = float(row[metric])
            except (KeyError, TypeError, ValueError):
                continue
            try:
                epochs.append(float(row.get("epoch", i + 1)))
            except (TypeError, ValueError):
                epochs.append(float(i + 1))
            values.append(value)
    return (tuple(epochs), tuple(values)) if values else None


def _picture(rows: tuple[dict, ...], shape: str) -> dict[str, Any]:
    """What the answer's own rows call for: groups, an effect or a distribution (else a ranking of runs)."""
    grouped = [r for r in rows if r.get("group") is not None and "run_id" not in r]
    if shape in GROUP_SHAPES + ("param_effect",) and grouped:
        statistic = next((k for k in ("mean", "count", "median", "max", "min", "std") if k in grouped[0]["values"]), "")
        groups = tuple((str(r["group"]), float(r["values"][statistic]), float(r["values"].get("std") or 0.0),
                        int(r["values"].get("n") or 0)) for r in grouped
                       if statistic and r["values"].get(statistic) is not None and r["group"] != "rank correlation")
        return {"picture": "effect" if shape == "param_effect" else "groups", "groups": groups, "statistic": statistic}
    if shape == "distribution" and grouped:
        values = grouped[0]["values"]
        return {"picture": "distribution",
                "stats": tuple((k, float(values[k])) for k in ("min", "q1", "median", "q3", "max") if k in values)}
    return {}


def load_runs(db: Path, run_ids: tuple[str, ...], facts: tuple[dict, ...], rows: tuple[dict, ...] = (),
              shape: str = "") -> RunsData:
    """The runs an answer used (in its order), their table rows, final metric values and curves, and the
    picture its rows call for."""
    from labvoice.knowledge.live_runs import shared_runs
    from labvoice.knowledge.vocab import is_lower_better

    wanted = set(run_ids)   # the runs the assistant holds already (100,000 runs are not parsed again per chart)
    by_id = {run.run_id: run for run in shared_runs(db).snapshot().runs if run.run_id in wanted}
    runs = [by_id[r] for r in run_ids if r in by_id]
    metric = chart_metric(runs, facts)
    table = tuple(RunRow(r.run_id, r.dataset_id, r.model_kind or "-", _key_metrics(r.metrics, metric), r.note)
                  for r in runs)
    values = tuple((r.run_id, r.metrics[metric]) for r in runs if metric in r.metrics)
    curves = []
    for run in runs[:MAX_CURVE_RUNS]:
        curve = _read_curve(run.metrics_csv, metric) if metric else None
        if curve is not None:
            curves.append((run.run_id, *curve))
    return RunsData(table, metric, values[:MAX_BARS], tuple(curves), tuple(r for r in run_ids if r not in by_id),
                    bool(metric and is_lower_better(metric)), total=len(values), **_picture(rows, shape))


def warm_up() -> None:
    """Import matplotlib and draw once (font cache, Agg): done at start-up so that the first answer's
    chart does not pay for it while a turn is running."""
    render(RunsData((), None, ()), LEADERBOARD, MIN_SIZE_PX, dark=False)


def render(data: RunsData, mode: str, size_px: tuple[int, int], dark: bool):
    """A PIL image of the chart: metric curves per epoch, or the leaderboard as bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    colors = DARK if dark else LIGHT
    width, height = max(size_px[0], MIN_SIZE_PX[0]), max(size_px[1], MIN_SIZE_PX[1])
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=colors["bg"])
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_facecolor(colors["bg"])
    for spine in axes.spines.values():
        spine.set_color(colors["grid"])
    axes.tick_params(colors=colors["fg"], labelsize=FONT_SIZE)
    axes.grid(True, color=colors["grid"], linewidth=0.5)
    direction = "lower is better" if data.lower_is_better else "higher is better"
    if data.picture in ("groups", "effect") and data.groups:
        _draw_groups(axes, data, colors, direction)
    elif data.picture == "distribution" and len(data.stats) == 5:
        _draw_distribution(axes, data, colors)
    elif mode == CURVES and data.curves:
        for run_id, epochs, values in data.curves:
            axes.plot(epochs, values, marker="o", markersize=2.5, linewidth=1.4, label=run_id)
        axes.set_xlabel("epoch", color=colors["fg"], fontsize=FONT_SIZE)
        axes.set_title(f"{data.metric} per epoch ({direction})", color=colors["fg"], fontsize=FONT_SIZE + 1)
        legend = axes.legend(fontsize=FONT_SIZE - 1, facecolor=colors["bg"], edgecolor=colors["grid"])
        for text in legend.get_texts():
            text.set_color(colors["fg"])
    elif data.values:
        names = [run_id for run_id, _ in data.values][::-1]        # best (first) at the top
        values = [value for _, value in data.values][::-1]
        bar_colors = [colors["bar"]] * (len(values) - 1) + [colors["best"]]
        bars = axes.barh(names, values, color=bar_colors)
        axes.bar_label(bars, labels=[fmt(v) for v in values], fontsize=FONT_SIZE, color=colors["fg"], padding=2)
        shown = f", top {len(values)} of {data.total}" if data.total > len(values) else ""
        axes.set_title(f"{data.metric} ({direction}{shown})", color=colors["fg"], fontsize=FONT_SIZE + 1)
        axes.margins(x=0.15)
    else:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "no metric to chart for these runs", ha="center", va="center", color=colors["fg"],
                  fontsize=FONT_SIZE + 1, transform=axes.transAxes)
    figure.tight_layout()
    canvas.draw()
    return Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).copy()


def _draw_groups(axes, data: RunsData, colors: dict, direction: str) -> None:
    """One bar (or, for a parameter's effect, one point) per group with its spread, labelled with how
    many runs it rests on, so a group of one run shows as thin evidence."""
    labels = [label for label, *_ in data.groups]
    values = [value for _, value, _, _ in data.groups]
    spread = [std for _, _, std, _ in data.groups]
    counts = [n for *_, n in data.groups]
    what = f"{data.statistic} {data.metric or ''}".strip()
    if data.picture == "effect":
        axes.errorbar(range(len(values)), values, yerr=spread, marker="o", color=colors["best"], capsize=3)
        axes.set_xticks(range(len(values)), labels, fontsize=FONT_SIZE)
        for x, (value, n) in enumerate(zip(values, counts)):
            axes.annotate(f"n={n}", (x, value), textcoords="offset points", xytext=(0, 6), ha="center",
                          fontsize=FONT_SIZE - 1, color=colors["fg"])
        axes.set_title(f"{what} by setting ({direction})", color=colors["fg"], fontsize=FONT_SIZE + 1)
        return
    bars = axes.barh(labels[::-1], values[::-1], xerr=spread[::-1] if any(spread) else None,
                     color=colors["bar"], ecolor=colors["fg"], capsize=2)
    axes.bar_label(bars, labels=[f"{fmt(v)} (n={n})" for v, n in zip(values[::-1], counts[::-1])],
                   fontsize=FONT_SIZE, color=colors["fg"], padding=2)
    axes.set_title(f"{what} per group ({direction})", color=colors["fg"], fontsize=FONT_SIZE + 1)
    axes.margins(x=0.25)


def _draw_distribution(axes, data: RunsData, colors: dict) -> None:
    """A box from the answer's own quartiles (the statistics it said, not recomputed)."""
    stats = dict(data.stats)
    axes.bxp([{"whislo": stats["min"], "q1": stats["q1"], "med": stats["median"], "q3": stats["q3"],
               "whishi": stats["max"], "label": data.metric or ""}], orientation="horizontal", showfliers=False)
    axes.set_title(f"{data.metric}: min, quartiles, max", color=colors["fg"], fontsize=FONT_SIZE + 1)
