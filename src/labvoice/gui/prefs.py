"""What the window remembers between runs: its size, the appearance, the style sliders and the
settings panel's choices, in one small JSON file under the user's config folder.

Where: `gui.settings_file` when the config sets it, else `$XDG_CONFIG_HOME/labvoice/settings.json`,
else `settings.json` in the platform's user config folder (`~/.config/labvoice/` on Linux). Writes
are atomic (a temporary file beside the target, fsynced, then renamed over it), so a crash never
leaves half a file. A missing or unreadable file gives the defaults (with one warning line in the
log), never an error: preferences are a comfort.

The settings are applied as overrides on top of the loaded config (`config_overrides`), so the
YAML stays the single source of defaults and the file only holds what the person changed.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

APP_FOLDER = "labvoice"
FILE_NAME = "settings.json"
FORMAT_VERSION = 1
APPEARANCES = ("system", "light", "dark")
CHART_MODES = ("curves", "leaderboard")
STYLE_KEYS = ("warmth", "humour", "energy", "verbosity")


@dataclass(frozen=True)
class Prefs:
    """Everything remembered; None means "as the config says"."""

    geometry: str | None = None            # Tk geometry string, e.g. "1280x800+40+30"
    appearance: str | None = None          # system | light | dark (None: config gui.appearance)
    style: dict[str, float] = field(default_factory=dict)
    input_device: str | int | None = None
    output_device: str | int | None = None
    profile: str | None = None
    barge_in: str | None = None
    db: str | None = None
    knowledge_base: str | None = None
    chart: str | None = None               # curves | leaderboard

    def with_changes(self, **changes: Any) -> "Prefs":
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> "Prefs":
        """Tolerant: unknown keys and values of the wrong type are dropped (with a log line)."""
        if not isinstance(data, dict):
            raise ValueError("the settings file does not hold a JSON object")
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key == "style":
                if isinstance(value, dict):
                    values[key] = {k: float(v) for k, v in value.items()
                                   if k in STYLE_KEYS and isinstance(v, (int, float)) and 0.0 <= v <= 1.0}
                continue
            if value is None or isinstance(value, (str, int)) and not isinstance(value, bool):
                values[key] = value
            else:
                log.warning("settings: ignoring %s = %r (unexpected type)", key, value)
        if values.get("appearance") not in (None, *APPEARANCES):
            values.pop("appearance")
        if values.get("chart") not in (None, *CHART_MODES):
            values.pop("chart")
        return cls(**values)


def settings_path(configured: Path | None, environ: dict[str, str] | None = None) -> Path:
    """The settings file: the configured one, else under $XDG_CONFIG_HOME, else in the platform's user
    config folder (~/.config/labvoice on Linux; locations.user_dirs)."""
    if configured is not None:
        return Path(configured)
    environ = os.environ if environ is None else environ
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]) / APP_FOLDER / FILE_NAME
    from labvoice.locations import user_dirs

    return user_dirs(environ)[0] / FILE_NAME


class PrefsFile:
    """Loads and atomically saves `Prefs` at one path."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> Prefs:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Prefs()
        except OSError as err:
            log.warning("cannot read %s (%s); using the defaults", self.path, err)
            return Prefs()
        try:
            return Prefs.from_json(json.loads(text))
        except (ValueError, TypeError) as err:
            log.warning("%s is not a valid settings file (%s); using the defaults", self.path, err)
            return Prefs()

    def save(self, prefs: Prefs) -> None:
        """Write beside the target, fsync, rename over it. Raises OSError when the disk refuses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(prefs.to_json(), fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def config_overrides(prefs: Prefs) -> dict[str, Any]:
    """Dotted config keys for `Config.replace` from what the person chose in the window."""
    overrides: dict[str, Any] = {}
    if prefs.input_device is not None:
        overrides["audio.input_device"] = prefs.input_device
    if prefs.output_device is not None:
        overrides["audio.output_device"] = prefs.output_device
    if prefs.profile is not None:
        overrides["profile"] = prefs.profile
    if prefs.barge_in is not None:
        overrides["pipeline.barge_in"] = prefs.barge_in
    if prefs.db:
        overrides["paths.db"] = Path(prefs.db).expanduser()
    if prefs.knowledge_base:
        overrides["paths.knowledge_base"] = Path(prefs.knowledge_base).expanduser()
    for key, value in prefs.style.items():
        overrides[f"style.{key}"] = value
    return overrides
