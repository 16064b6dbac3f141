"""The evaluation's outputs: a JSON summary, a Markdown report and a chart (accuracy and latency
per question kind)."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from labvoice.evaluation.runner import ScenarioResult
from labvoice.evaluation.scoring import percentile

CHART_NAME = "accuracy_latency.png"
CHART_SIZE_IN = (11, 7)
CHART_DPI = 110
PERCENTILES = (50, 95)


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _latency(values: list[float | None]) -> dict[str, float | None]:
    kept = [v for v in values if v is not None]
    return {f"p{q}": (round(p, 1) if (p := percentile(kept, q)) is not None else None) for q in PERCENTILES}


def summarize(results: list[ScenarioResult], *, mode: str, db: str, scenarios_file: str,
              min_accuracy: float | None = None, max_hallucinations: int | None = None) -> dict[str, Any]:
    done = [r for r in results if not r.skipped]
    with_mentions = [r for r in done if r.mentions]
    kinds: dict[str, list[ScenarioResult]] = defaultdict(list)
    for r in done:
        kinds[r.kind].append(r)
    hallucinations = sum(r.hallucinations for r in done)
    summary: dict[str, Any] = {
        "mode": mode,
        "db": db,
        "scenarios_file": scenarios_file,
        "scenarios": len(results),
        "evaluated": len(done),
        "skipped": [{"id": r.id, "why": r.skipped} for r in results if r.skipped],
        "accuracy": _ratio(sum(r.right for r in done), len(done)),
        "mention_accuracy": _ratio(sum(r.mentions_right for r in with_mentions), len(with_mentions)),
        "hallucinations": hallucinations,
        "hallucinated_run_ids": sorted({rid for r in done for rid in r.unknown_run_ids}),
        "unsupported_values": [f"{r.id}: {p}" for r in done for p in r.unsupported],
        "data_changed": [r.id for r in done if r.data_changed],
        "fallback_rate": _ratio(sum(r.fallback for r in done), len(done)),
        "errors": [f"{r.id}: {e}" for r in done for e in r.errors],
        "latency_ms": {"first": _latency([r.first_ms for r in done]), "total": _latency([r.total_ms for r in done])},
        "per_kind": {kind: {"n": len(rs), "accuracy": _ratio(sum(r.right for r in rs), len(rs)),
                            "mention_accuracy": _ratio(sum(r.mentions_right for r in rs if r.mentions),
                                                       sum(1 for r in rs if r.mentions)),
                            "first_ms": _latency([r.first_ms for r in rs])}
                     for kind, rs in kinds.items()},
    }
    if mode == "voice":
        wers = [r.wer for r in done if r.wer is not None]
        summary["wer"] = {"mean": round(sum(wers) / len(wers), 3) if wers else None,
                          "median": percentile(wers, 50), "max": max(wers, default=None)}
    failures = []
    if summary["data_changed"]:
        failures.append(f"data changed by {', '.join(summary['data_changed'])}")
    if min_accuracy is not None and (summary["accuracy"] or 0.0) < min_accuracy:
        failures.append(f"accuracy {summary['accuracy']} < {min_accuracy}")
    if max_hallucinations is not None and hallucinations > max_hallucinations:
        failures.append(f"hallucinations {hallucinations} > {max_hallucinations}")
    summary["thresholds"] = {"min_accuracy": min_accuracy, "max_hallucinations": max_hallucinations}
    summary["failures"] = failures
    summary["passed"] = not failures
    summary["results"] = [{**asdict(r), "right": r.right, "hallucinations": r.hallucinations} for r in results]
    return summary


def draw_chart(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(summary["per_kind"])
    stats = [summary["per_kind"][k] for k in kinds]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=CHART_SIZE_IN, sharex=True)
    top.bar(kinds, [s["accuracy"] or 0.0 for s in stats], color="#4c72b0", label="run ids right")
    top.plot(kinds, [s["mention_accuracy"] if s["mention_accuracy"] is not None else float("nan") for s in stats],
             "o", color="#dd8452", label="mentions right")
    top.set_ylim(0, 1.05)
    top.set_ylabel("accuracy")
    top.legend(loc="lower left")
    top.set_title(f"labvoice evaluation ({summary['mode']} mode): accuracy {summary['accuracy']}, "
                  f"hallucinations {summary['hallucinations']}")
    p50 = [s["first_ms"]["p50"] or 0.0 for s in stats]
    p95 = [s["first_ms"]["p95"] or 0.0 for s in stats]
    bottom.bar(kinds, p50, color="#55a868", label="p50")
    bottom.scatter(kinds, p95, marker="_", s=400, color="#c44e52", label="p95")
    what = "first audio" if summary["mode"] == "voice" else "first speakable piece"
    bottom.set_ylabel(f"{what} (ms)")
    bottom.legend(loc="upper left")
    bottom.tick_params(axis="x", rotation=40)
    fig.tight_layout()
    fig.savefig(path, dpi=CHART_DPI)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if value < 1000 else f"{value:.0f}"
    return str(value)


def markdown(summary: dict[str, Any], chart_name: str) -> str:
    lat = summary["latency_ms"]
    lines = [f"# labvoice evaluation: {summary['mode']} mode", "",
             f"Scenarios `{summary['scenarios_file']}` on DB `{summary['db']}`: "
             f"{summary['evaluated']} evaluated, {len(summary['skipped'])} skipped.", "",
             "| measure | value |", "|---|---|",
             f"| answer accuracy (run ids right, answered, no data changed) | {_fmt(summary['accuracy'])} |",
             f"| mention accuracy | {_fmt(summary['mention_accuracy'])} |",
             f"| hallucinated ids/values | {summary['hallucinations']} |",
             f"| questions that changed data | {len(summary['data_changed'])} |",
             f"| templated fallback rate | {_fmt(summary['fallback_rate'])} |",
             f"| first piece/audio p50 / p95 (ms) | {_fmt(lat['first']['p50'])} / {_fmt(lat['first']['p95'])} |",
             f"| whole answer p50 / p95 (ms) | {_fmt(lat['total']['p50'])} / {_fmt(lat['total']['p95'])} |"]
    if "wer" in summary:
        lines.append(f"| STT word error rate mean / max | {_fmt(summary['wer']['mean'])} / {_fmt(summary['wer']['max'])} |")
    verdict = "passed" if summary["passed"] else "FAILED: " + "; ".join(summary["failures"])
    lines += ["", f"Thresholds {summary['thresholds']}: **{verdict}**", "", f"![accuracy and latency]({chart_name})", "",
              "## Per question kind", "", "| kind | n | accuracy | mentions | first p50 (ms) | first p95 (ms) |",
              "|---|---|---|---|---|---|"]
    for kind, s in summary["per_kind"].items():
        lines.append(f"| {kind} | {s['n']} | {_fmt(s['accuracy'])} | {_fmt(s['mention_accuracy'])} | "
                     f"{_fmt(s['first_ms']['p50'])} | {_fmt(s['first_ms']['p95'])} |")
    wrong = [r for r in summary["results"] if not r["skipped"] and (not r["right"] or r["missing_mentions"]
                                                                    or r["hallucinations"])]
    lines += ["", "## Answers that were not fully right", ""]
    if not wrong:
        lines.append("None.")
    for r in wrong:
        lines += [f"### {r['id']} ({r['kind']})", "", f"- question: {r['question']}"]
        if r["heard"] and r["heard"] != r["question"]:
            lines.append(f"- heard: {r['heard']} (WER {_fmt(r['wer'])})")
        lines += [f"- answer: {r['answer']}", f"- expected run ids: {r['expected_run_ids']}; used: {r['used_run_ids']}"]
        for label, key in (("missing mentions", "missing_mentions"), ("unknown run ids", "unknown_run_ids"),
                           ("unsupported", "unsupported"), ("errors", "errors")):
            if r[key]:
                lines.append(f"- {label}: {r[key]}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(summary: dict[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    chart = draw_chart(summary, folder / CHART_NAME)
    report = folder / "report.md"
    report.write_text(markdown(summary, chart.name), encoding="utf-8")
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return {"report": report, "chart": chart, "summary": summary_path}
