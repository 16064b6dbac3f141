"""Dark or light: follow the desktop ("system") or what the person chose.

customtkinter's own "system" mode asks the desktop (`gsettings`, a subprocess on Linux) from the
Tk thread every 30 ms, which costs a process start per poll and stalls the window on a busy
machine. Here the desktop is asked once at start-up and then every few seconds on a worker
thread, and customtkinter is always given an explicit "light" or "dark".
"""
from __future__ import annotations

from typing import Callable

import customtkinter as ctk

SYSTEM_POLL_MS = 5000      # a desktop theme switch shows within a few seconds; cheap enough to repeat


def system_is_dark() -> bool:
    """The desktop's appearance. Runs `gsettings` on Linux: call it off the Tk thread."""
    try:
        import darkdetect

        return darkdetect.theme() == "Dark"
    except Exception:  # noqa: BLE001 - no desktop settings service: light it is
        return False


class Appearance:
    """The chosen mode (system | light | dark) and what it resolves to right now."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.system_dark = system_is_dark() if mode == "system" else False   # once, before the window

    @property
    def dark(self) -> bool:
        return self.mode == "dark" or (self.mode == "system" and self.system_dark)

    def apply(self) -> None:
        ctk.set_appearance_mode("dark" if self.dark else "light")

    def follow(self, window, worker, on_change: Callable[[], None]) -> None:
        """Poll the desktop from `worker` (a tasks.Worker) while the mode is "system"."""

        def detected(dark: bool) -> None:
            if dark != self.system_dark:
                self.system_dark = dark
                if self.mode == "system":
                    self.apply()
                    on_change()

        def poll() -> None:
            if self.mode == "system" and not worker.busy:
                worker.submit(system_is_dark, on_done=detected)
            window.after(SYSTEM_POLL_MS, poll)

        window.after(SYSTEM_POLL_MS, poll)
