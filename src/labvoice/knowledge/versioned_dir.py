"""A folder of immutable versions with an atomically swapped `CURRENT` pointer (used by the index).

Layout of `root`:

    CURRENT              one line: the name of the live version folder
    v-<time>-<hex>/      complete versions (only the live one is kept after a publish)
    .build-<pid>-<hex>/  a version being written, or the remains of a killed writer

Publishing: the writer fills a `.build-*` folder, fsyncs its files and the folder, renames it to
`v-*`, writes `CURRENT.<pid>.tmp`, fsyncs it, `os.replace`s it over `CURRENT` (an atomic file
replace on POSIX and Windows) and fsyncs `root`. A reader reads `CURRENT`, then the folder it
names. A writer killed at any moment leaves `CURRENT` naming the previous complete version; the
next publish removes the leftovers. Renaming a new folder over a non-empty old one is not atomic on
any platform, and swapping a symlink needs privileges on Windows, which is why the atomic step is
a one-line file.
"""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

POINTER = "CURRENT"
VERSION_PREFIX = "v-"
BUILD_PREFIX = ".build-"
TMP_SUFFIX = ".tmp"
SUFFIX_HEX_CHARS = 6


class NoVersion(FileNotFoundError):
    """`root` has no published version yet."""


class BadPointer(ValueError):
    """`CURRENT` exists but cannot be read or names no valid version folder."""


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Make a folder's entries durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_version(root: Path) -> Path:
    """The live version folder. Raises NoVersion or BadPointer."""
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise NoVersion(root / POINTER) from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadPointer(f"unreadable {POINTER} file ({err})") from None
    if not name.startswith(VERSION_PREFIX) or Path(name).name != name:
        raise BadPointer(f"corrupt {POINTER} file ({name[:40]!r})")
    return root / name


def new_build_dir(root: Path) -> Path:
    """A fresh, empty `.build-<pid>-<hex>` folder in root (root is created if needed)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{BUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:SUFFIX_HEX_CHARS]}"
    path.mkdir()
    return path


def publish(root: Path, build_dir: Path) -> Path:
    """Make a complete, fsynced build folder the live version; returns its final path."""
    fsync_dir(build_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    version = root / f"{VERSION_PREFIX}{stamp}-{uuid.uuid4().hex[:SUFFIX_HEX_CHARS]}"
    os.replace(build_dir, version)
    fsync_dir(root)
    pointer_tmp = root / f"{POINTER}.{os.getpid()}{TMP_SUFFIX}"
    with open(pointer_tmp, "w", encoding="utf-8") as fh:
        fh.write(version.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / POINTER)
    fsync_dir(root)
    clean(root, keep=version)
    return version


def _pid_alive(pid_text: str) -> bool:
    """Whether another process with this pid runs (our own leftovers are never in use)."""
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return pid != os.getpid() and psutil.pid_exists(pid)


def clean(root: Path, keep: Path) -> None:
    """Remove old versions and the leftovers of dead writers; never a live writer's build folder."""
    for entry in root.iterdir():
        name = entry.name
        if name.startswith(VERSION_PREFIX) and entry != keep:
            shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(BUILD_PREFIX) and not _pid_alive(name[len(BUILD_PREFIX):].split("-", 1)[0]):
            shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(f"{POINTER}.") and name.endswith(TMP_SUFFIX) \
                and not _pid_alive(name[len(POINTER) + 1:-len(TMP_SUFFIX)]):
            entry.unlink(missing_ok=True)
