"""Where labvoice keeps its files: a checkout's own folders, else the platform's user folders.

In a checkout (the folder that holds `pyproject.toml`, `config/config.yaml` and `src/labvoice`),
everything stays where it always was: `config/config.yaml`, `.env`, and relative paths under the
checkout. Installed (`pip install labvoice`), the default config ships inside the package
(`labvoice/default_config.yaml`), a user config at `<user config dir>/config.yaml` changes only the
keys it names, secrets come from `<user config dir>/.env`, relative paths resolve under the user
data folder and the log file lives in the user log folder (all from `platformdirs`). `--config`,
`LABVOICE_CONFIG`, `--db` and `LABVOICE_<SECTION>__<KEY>` override any of these.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

APP_NAME = "labvoice"
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]   # the checkout's root, when this file lies in one
PACKAGED_CONFIG = "default_config.yaml"
LOG_FILE_NAME = "labvoice.log"


def in_checkout(root: Path = CHECKOUT_ROOT) -> bool:
    """True when this package is the `src/labvoice` of a labvoice checkout (editable or from source)."""
    return ((root / "pyproject.toml").is_file() and (root / "config" / "config.yaml").is_file()
            and (root / "src" / "labvoice").is_dir())


def packaged_config() -> Path:
    """The default config shipped inside the package (package data)."""
    return Path(str(resources.files("labvoice").joinpath(PACKAGED_CONFIG)))


@dataclass(frozen=True)
class Locations:
    """The folders and files of one way of running labvoice (checkout or installed)."""

    checkout: bool
    default_config: Path       # the config file used when none is named
    user_config: Path | None   # an optional file whose keys override default_config (installed only)
    env_files: tuple[Path, ...]  # `.env` files read, first wins; the real environment wins over all
    data_dir: Path             # where relative paths in the default config resolve
    log_dir: Path              # the rotating log file's folder

    @property
    def log_file(self) -> Path:
        return self.log_dir / LOG_FILE_NAME


def user_dirs(environ: dict[str, str] | None = None) -> tuple[Path, Path, Path]:
    """(config, data, log) folders of this user on this platform; LABVOICE_LOG_DIR moves the logs."""
    from platformdirs import PlatformDirs

    environ = os.environ if environ is None else environ
    dirs = PlatformDirs(APP_NAME, appauthor=False)
    log_dir = Path(environ["LABVOICE_LOG_DIR"]) if environ.get("LABVOICE_LOG_DIR") else Path(dirs.user_log_dir)
    return Path(dirs.user_config_dir), Path(dirs.user_data_dir), log_dir


def locations(environ: dict[str, str] | None = None, root: Path = CHECKOUT_ROOT) -> Locations:
    """The folders in use: a checkout's own, else the user's (see the module docstring)."""
    config_dir, data_dir, log_dir = user_dirs(environ)
    if in_checkout(root):
        return Locations(checkout=True, default_config=root / "config" / "config.yaml", user_config=None,
                         env_files=(root / ".env", config_dir / ".env"), data_dir=root, log_dir=log_dir)
    return Locations(checkout=False, default_config=packaged_config(), user_config=config_dir / "config.yaml",
                     env_files=(config_dir / ".env",), data_dir=data_dir, log_dir=log_dir)
