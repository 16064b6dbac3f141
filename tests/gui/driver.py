"""Helpers that drive the real window under Xvfb: pump the Tk loop, wait for a condition, click and
type with xdotool (real X input events), measure Tk loop gaps, take screenshots.

The test thread is the Tk thread: nothing here blocks without pumping the loop. xdotool runs as a
child process while the loop keeps turning, so the harness never adds its own stalls to what
the heartbeat measures.
"""
from __future__ import annotations

import _tkinter
import faulthandler
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PUMP_SLEEP_S = 0.002     # idle wait between event checks: well under the 10 ms heartbeat
HEARTBEAT_MS = 10        # the after() interval whose lateness measures loop stalls
STALL_DUMP_S = 0.1       # a beat this late dumps every thread's Python stack (what held the loop up)
XDOTOOL_TIMEOUT_S = 10.0
# customtkinter ignores a second click on a button within its 100 ms click animation (it marks the
# pointer as outside until the animation ends); a person never clicks that fast, the harness might.
CLICK_SETTLE_S = 0.15
SHOW_TIMEOUT_S = 5.0     # a tab just switched to is laid out within a few frames, even on a busy machine


def pump(window, seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Run the Tk loop for `seconds`, or until `until()` is true (returns whether it became true).

    Events are dispatched one at a time, as `mainloop()` does. Not `update()`: Tk's update ends
    with an XSync, a round trip to the X server per call, which the real window never makes and
    which stalls the loop whenever the X server waits for a CPU.
    """
    deadline = time.monotonic() + seconds
    while True:
        while window.tk.dooneevent(_tkinter.DONT_WAIT):
            pass
        if until is not None and until():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(PUMP_SLEEP_S)


def wait_for(window, condition: Callable[[], bool], timeout: float, what: str) -> None:
    if not pump(window, timeout, condition):
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def beside(window, fn: Callable[[], object], timeout: float = XDOTOOL_TIMEOUT_S):
    """Run `fn` on a helper thread while the Tk loop keeps turning; returns its result.

    Starting a process (xdotool, paplay) forks this large process, which can take tens of
    milliseconds: done on the Tk thread it would show up as a stall of the window's loop.
    """
    result: list = []
    error: list = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as err:  # noqa: BLE001 - handed back to the test thread
            error.append(err)

    thread = threading.Thread(target=run, name="gui-test-helper", daemon=True)
    thread.start()
    if not pump(window, timeout, lambda: not thread.is_alive()):
        raise AssertionError(f"{fn} did not finish within {timeout} s")
    if error:
        raise error[0]
    return result[0]


def _run_pumping(window, args: list[str]) -> None:
    done = beside(window, lambda: subprocess.run(args, capture_output=True, timeout=XDOTOOL_TIMEOUT_S))
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')}")


def click_at(window, x: int, y: int) -> None:
    _run_pumping(window, ["xdotool", "mousemove", str(x), str(y), "click", "1"])
    pump(window, CLICK_SETTLE_S)


def move_pointer(window, x: int, y: int) -> None:
    _run_pumping(window, ["xdotool", "mousemove", str(x), str(y)])


def click(window, widget, fx: float = 0.5, fy: float = 0.5) -> None:
    """A real mouse click at a fraction (fx, fy) of the widget's area, once it is on screen there."""
    def point() -> tuple[int, int]:
        x = widget.winfo_rootx() + int(max(1, min(widget.winfo_width() - 2, fx * widget.winfo_width())))
        y = widget.winfo_rooty() + int(max(1, min(widget.winfo_height() - 2, fy * widget.winfo_height())))
        return x, y

    def on_screen() -> bool:
        target = window.winfo_containing(*point()) if widget.winfo_viewable() else None
        return target is not None and (str(target) == str(widget) or str(target).startswith(f"{widget}."))

    if not pump(window, SHOW_TIMEOUT_S, on_screen):
        shot = screenshot(window, Path(tempfile.mkdtemp(prefix="labvoice-gui-")) / "not-visible.png")
        raise AssertionError(f"{widget} is not visible at {point()}: {window.winfo_containing(*point())} is there "
                             f"(screenshot: {shot})")
    click_at(window, *point())


def type_text(window, text: str) -> None:
    _run_pumping(window, ["xdotool", "type", "--delay", "15", text])


def press_key(window, key: str) -> None:
    _run_pumping(window, ["xdotool", "key", key])


def screenshot(window, path: Path) -> Path:
    window.update()          # everything drawn (an XSync is wanted here)
    _run_pumping(window, ["import", "-window", "root", str(path)])
    return path


def _runqueue_wait_s() -> float:
    """How long the calling thread has waited for a CPU so far (Linux schedstat; 0 elsewhere)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat", encoding="ascii") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Heartbeat:
    """An after(HEARTBEAT_MS) callback that records how late each beat came: the Tk loop's stalls.

    For each gap it also notes how much of it the OS kept the Tk thread waiting for a CPU, which
    tells a stall caused by a busy machine from one caused by the window's own work.
    """

    window: object
    gaps_s: list[float] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)      # when each beat ran (monotonic)
    runqueue_s: list[float] = field(default_factory=list)  # of each gap, the time spent waiting for a CPU
    dump_path: Path | None = None     # every thread's stack whenever a beat is STALL_DUMP_S late
    _dump_file: object = None
    _last_wait: float = 0.0
    _last: float = 0.0
    _job: str | None = None

    def start(self) -> "Heartbeat":
        self.gaps_s.clear()
        self.stamps.clear()
        self.runqueue_s.clear()
        self._last_wait = _runqueue_wait_s()
        self.dump_path = Path(tempfile.mkdtemp(prefix="labvoice-stalls-")) / "stacks.txt"
        self._dump_file = open(self.dump_path, "w", encoding="utf-8")
        faulthandler.dump_traceback_later(STALL_DUMP_S, file=self._dump_file)
        self._last = time.monotonic()
        self._job = self.window.after(HEARTBEAT_MS, self._beat)
        return self

    def _beat(self) -> None:
        now = time.monotonic()
        wait = _runqueue_wait_s()
        self.gaps_s.append(now - self._last)
        self.stamps.append(now)
        self.runqueue_s.append(wait - self._last_wait)
        self._last, self._last_wait = now, wait
        faulthandler.dump_traceback_later(STALL_DUMP_S, file=self._dump_file)
        self._job = self.window.after(HEARTBEAT_MS, self._beat)

    def worst(self, events, count: int = 3) -> str:
        """The longest stalls, each with the last event the window had received before it."""
        lines = []
        for i in sorted(range(len(self.gaps_s)), key=self.gaps_s.__getitem__)[-count:][::-1]:
            start = self.stamps[i] - self.gaps_s[i]
            before = [e for e in events if e.t <= start]
            last = type(before[-1]).__name__ if before else "-"
            lines.append(f"{self.gaps_s[i] * 1000:.0f} ms stall ({self.runqueue_s[i] * 1000:.0f} ms of it waiting "
                         f"for a CPU), {start - self.stamps[0]:.2f} s in, after {last}")
        if self.dump_path is not None and self.dump_path.exists() and self.dump_path.stat().st_size:
            lines.append(f"thread stacks during stalls: {self.dump_path}")
        return "; ".join(lines)

    def stop(self) -> float:
        """Stop; returns the longest gap between beats, seconds."""
        if self._job is not None:
            self.window.after_cancel(self._job)
            self._job = None
        faulthandler.cancel_dump_traceback_later()
        if self._dump_file is not None:
            self._dump_file.close()
            self._dump_file = None
        return max(self.gaps_s, default=0.0)
