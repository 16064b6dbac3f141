"""Fixtures for the window tests: Xvfb (session), a test config (quick demo DB copy, temp index, the
virtual PulseAudio mic and speaker) and one window whose models load once for all of tests/gui.
The window is package-scoped: it closes when the GUI tests end, so its live microphone never
hears (and answers) what later test packages play into the shared virtual mic.

Ordering: the virtual audio devices start in `pytest_configure` (tests/support/fixtures.py), before
sounddevice is imported. Xvfb starts in the `display` fixture and sets DISPLAY before the first Tk
window exists (Tk reads DISPLAY when a window is created); test modules import tkinter and the GUI
only inside fixtures and tests, never at module level.

The window fixtures record what they saw on the way (the rebuild's phases, the loading statuses)
so the tests can assert on it without repeating the slow steps.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.gui.driver import click, pump, wait_for
from tests.knowledge.conftest import copy_db, demo_db, demo_run  # noqa: F401 - session fixtures reused

SCREEN = (1280, 800)
XVFB_START_TIMEOUT_S = 15.0
LOAD_TIMEOUT_S = 300.0       # first start loads every CPU model; slow, shared CI machines need room
REBUILD_TIMEOUT_S = 180.0


@pytest.fixture(scope="session")
def display():
    """A private Xvfb server on a free display (Xvfb picks it: -displayfd); DISPLAY points at it."""
    if shutil.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed; run: apt-get install xvfb xdotool imagemagick")
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp",
         "-noreset"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + XVFB_START_TIMEOUT_S
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.1)
        if ready:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_fd)
    if not number.strip():
        process.kill()
        process.wait()
        raise RuntimeError("Xvfb did not report its display number")
    saved = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    yield os.environ["DISPLAY"]
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if saved is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = saved


@pytest.fixture(scope="package")
def gui_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gui")


@pytest.fixture(scope="package")
def gui_config(audio_test_config, demo_db, gui_folder):  # noqa: F811 - demo_db is the imported fixture
    """The CPU profile on the virtual devices, a private copy of the demo DB, a not-yet-built index."""
    db = copy_db(demo_db, gui_folder / "runs.db")
    return audio_test_config.replace(**{
        "paths.db": db, "paths.index": gui_folder / "index", "paths.logs": gui_folder / "logs",
        "gui.settings_file": gui_folder / "settings.json", "gui.appearance": "light",
        "style.verbosity": 0.0,        # one-sentence answers keep each turn short
    })


@dataclass
class Observed:
    """What the session fixtures saw while driving the window."""

    startup_banner: str = ""
    startup_banner_code: str = ""
    startup_button: str = ""
    rebuild_phases: list[str] = field(default_factory=list)
    rebuild_progress_modes: set[str] = field(default_factory=set)
    rebuild_summary: str = ""
    rebuild_s: float = 0.0
    loading_details: list[str] = field(default_factory=list)
    loading_bar_shown: bool = False
    load_s: float = 0.0


@pytest.fixture(scope="package")
def observed() -> Observed:
    return Observed()


@pytest.fixture(scope="package")
def window(display, gui_config, observed):
    """The app window at the top-left of the Xvfb screen (not started)."""
    from labvoice.gui.app import LabvoiceWindow

    win = LabvoiceWindow(gui_config)
    win.geometry(f"{SCREEN[0]}x{SCREEN[1]}+0+0")
    pump(win, 10.0, lambda: bool(win.banner.message))   # the start-up check reports the missing index
    observed.startup_banner = win.banner.message
    observed.startup_banner_code = win.banner.code
    observed.startup_button = win.banner.action_button.cget("text")
    yield win
    win.close()


@pytest.fixture(scope="package")
def indexed_window(window, gui_config, observed):
    """The window after the start-up banner's button (the missing index's code: "Build the index")
    was clicked and the rebuild it started in Settings finished."""
    settings = window.settings
    started = time.monotonic()
    click(window, window.banner.action_button)

    def watch() -> bool:
        if settings.rebuild_status and (not observed.rebuild_phases or observed.rebuild_phases[-1]
                                        != settings.rebuild_status):
            observed.rebuild_phases.append(settings.rebuild_status)
        observed.rebuild_progress_modes.add(str(settings.rebuild_progress.cget("mode")))
        return observed.rebuild_phases != [] and not settings.rebuild_running

    wait_for(window, watch, REBUILD_TIMEOUT_S, "the index rebuild")
    observed.rebuild_s = time.monotonic() - started
    observed.rebuild_summary = settings.rebuild_status
    window.show_tab("Runs")
    return window


@pytest.fixture(scope="package")
def running_window(indexed_window, observed):
    """The window after Start was clicked: models loaded, listening on the virtual mic."""
    from labvoice.events import Status

    win = indexed_window
    started = time.monotonic()
    click(win, win.start_button)

    def watch() -> bool:
        if win.status_pill.status == Status.LOADING:
            detail = win.loading.label.cget("text")
            if detail and (not observed.loading_details or observed.loading_details[-1] != detail):
                observed.loading_details.append(detail)
            observed.loading_bar_shown |= win.loading.shown and bool(win.loading.winfo_ismapped())
        return win.session.running and win.status_pill.status == Status.LISTENING

    wait_for(win, watch, LOAD_TIMEOUT_S, "the models to load and the assistant to listen")
    observed.load_s = time.monotonic() - started
    return win
