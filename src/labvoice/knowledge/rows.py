"""How one `manifests` row's column values become a run's fields: lenient readers for every shape the
documented schema allows.

The schema (DESIGN.md, "Knowledge") says `params_json` holds the training call's kwargs,
`final_metrics_json` a dict of final metrics, `artifacts_json` a JSON list of artifact paths, and that
any column may be NULL. Real DBs also hold what older writers made, so each reader accepts:

- params: a JSON object, nested objects flattened to dotted keys (`{"optimizer": {"lr": 0.1}}` ->
  `optimizer.lr`); lists and other values kept as they are.
- metrics: a JSON object of numbers; numbers written as strings ("0.93") count; NaN, inf, booleans,
  words and nested containers are skipped (nested objects are flattened like params first). A run
  whose metrics are all skipped is still a run: it can be listed and counted.
- artifacts: a JSON list of paths (documented), an object of name -> path (labvoice's writer before
  issue 10), one path string, or list items that are objects with a `path`.
- timestamps: ISO 8601 with or without a zone (`Z`, `+02:00`, ` UTC`), a space instead of `T`, a
  date only (also `2026/01/31` and `20260131`), ctime text, or epoch seconds/milliseconds; all
  become one UTC ISO form so that they compare as strings. A timestamp without a zone is taken as
  UTC. An unreadable timestamp leaves the field empty and keeps the run.

A JSON column whose text is not JSON, or JSON of the wrong shape, raises `RowError` naming the column
and what was expected; the store skips such rows and counts them.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any

EPOCH_MS_ABOVE = 1e11        # a number this large is an epoch in milliseconds (MLflow writes those)
CTIME_FORMAT = "%a %b %d %H:%M:%S %Y"
_COMPACT_DATE = re.compile(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
_SLASHED_DATE = re.compile(r"\d{4}/\d{1,2}/\d{1,2}")
PATH_KEYS = ("path", "uri", "file", "local_path")


class RowError(ValueError):
    """One column of one row cannot be read; `column` and `expected` say which and what it should hold."""

    def __init__(self, column: str, expected: str, got: str) -> None:
        super().__init__(f"{column}: expected {expected}, got {got}")
        self.column = column
        self.expected = expected
        self.got = got


def _describe(text: Any) -> str:
    shown = str(text)
    return repr(shown[:40] + ("..." if len(shown) > 40 else ""))


def _load_json(text: Any, column: str, expected: str) -> Any:
    """The decoded JSON value, or None for NULL/empty. A JSON string that itself holds JSON is decoded once more."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return text          # SQLite typed the cell as a number
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise RowError(column, expected, f"text that is not JSON {_describe(text)}") from None
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return value


def _flatten(value: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def parse_params(text: Any) -> dict[str, Any]:
    value = _load_json(text, "params_json", "a JSON object of parameters")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowError("params_json", "a JSON object of parameters", f"a JSON {type(value).__name__}")
    return _flatten(value)


def as_number(value: Any) -> float | None:
    """A finite float from a number or a numeric string; None for anything else (NaN, inf, words, bools)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_metrics(text: Any) -> dict[str, float]:
    value = _load_json(text, "final_metrics_json", "a JSON object of metric name -> number")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowError("final_metrics_json", "a JSON object of metric name -> number",
                       f"a JSON {type(value).__name__}")
    metrics = {}
    for key, item in _flatten(value).items():
        number = as_number(item)
        if number is not None:
            metrics[str(key)] = number
    return metrics


def _paths_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        for key in PATH_KEYS:
            if isinstance(value.get(key), str):
                return [value[key]]
        return [p for item in value.values() for p in _paths_in(item)]
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in _paths_in(item)]
    return []


def parse_artifacts(text: Any) -> tuple[str, ...]:
    """Artifact paths in the order written. Text that is not JSON is one path when it looks like one."""
    try:
        value = _load_json(text, "artifacts_json", "a JSON list of artifact paths")
    except RowError:
        plain = str(text).strip()
        if plain[:1] in ("{", "[", '"') or "\n" in plain:
            raise
        value = plain
    if value is None:
        return ()
    if not isinstance(value, (list, dict, str)):
        raise RowError("artifacts_json", "a JSON list of artifact paths", f"a JSON {type(value).__name__}")
    return tuple(dict.fromkeys(_paths_in(value)))


def parse_timestamp(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime, or None when the value is empty or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and _COMPACT_DATE.fullmatch(value.strip()):      # 20260101: a date, not seconds
        value = f"{value.strip()[:4]}-{value.strip()[4:6]}-{value.strip()[6:]}"
    number = as_number(value)
    if number is not None and (not isinstance(value, str) or value.strip().lstrip("-").replace(".", "", 1).isdigit()):
        if number > EPOCH_MS_ABOVE:
            number /= 1000.0
        try:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif text.upper().endswith((" UTC", " GMT")):
        text = text[:-4] + "+00:00"
    if _SLASHED_DATE.match(text):
        text = text.replace("/", "-", 2)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, CTIME_FORMAT)        # `date` / time.ctime() output
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def iso_utc(moment: datetime | None) -> str:
    """The one stored/compared form: `2026-11-30T12:14:17.000000+00:00`; "" for None."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds") if moment else ""
