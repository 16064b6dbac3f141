"""Logs a person can find: every command writes a rotating log file in the user log folder
(`locations.Locations.log_file`; `labvoice doctor` prints where) besides stderr.

`setup_logging` may run more than once in a process (first with the `--log-level` flag, then again
once the config's `logging.level` is known): it replaces its own two handlers and leaves any other
handler alone. A log folder that cannot be created is one warning on stderr, not a failure.
"""
from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 2 * 1024 * 1024      # per file; with BACKUPS, at most ~8 MB of logs
BACKUPS = 3
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_FILE_HANDLER = "labvoice-file"
_STDERR_HANDLER = "labvoice-stderr"


def _drop_own_handlers(root: logging.Logger) -> RotatingFileHandler | None:
    """Remove our stderr handler; return our file handler (kept when its file is unchanged)."""
    kept = None
    for handler in list(root.handlers):
        if handler.get_name() == _STDERR_HANDLER:
            root.removeHandler(handler)
        elif handler.get_name() == _FILE_HANDLER:
            kept = handler
    return kept


def setup_logging(stderr_level: str, file_level: str, log_file: Path | None) -> Path | None:
    """Log to stderr at `stderr_level` and to `log_file` (rotating) at `file_level`.

    Returns the log file in use, or None when there is none (not asked for, or not writable)."""
    root = logging.getLogger()
    old_file = _drop_own_handlers(root)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.set_name(_STDERR_HANDLER)
    stderr.setLevel(stderr_level)
    stderr.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(stderr)
    in_use: Path | None = None
    if old_file is not None and log_file is not None and Path(old_file.baseFilename) == log_file.resolve():
        old_file.setLevel(file_level)
        in_use = log_file
    else:
        if old_file is not None:
            root.removeHandler(old_file)
            old_file.close()
        if log_file is not None:
            try:
                log_file.parent.mkdir(parents=True, exist_ok=True)
                handler = RotatingFileHandler(log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
            except OSError as err:
                print(f"labvoice: warning: cannot write the log file {log_file} ({err.strerror or err}); "
                      "logging to stderr only (set LABVOICE_LOG_DIR to a writable folder)", file=sys.stderr)
            else:
                handler.set_name(_FILE_HANDLER)
                handler.setLevel(file_level)
                handler.setFormatter(logging.Formatter(FORMAT))
                root.addHandler(handler)
                in_use = log_file
    levels = [logging.getLevelName(stderr_level)] + ([logging.getLevelName(file_level)] if in_use else [])
    root.setLevel(min(levels))
    return in_use
