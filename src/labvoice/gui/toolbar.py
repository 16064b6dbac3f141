"""The window's top bar (Start/Stop, Pause/Resume, the big Interrupt button, the status pill, the
microphone meter) and the loading strip shown under it while the models load.

Only widgets here: what the buttons do is the window's business (it passes the commands in).
"""
from __future__ import annotations

from typing import Callable

import customtkinter as ctk

from labvoice.gui.widgets import INTERRUPT_COLORS, INTERRUPT_HOVER, MUTED_TEXT, LevelMeter, StatusPill

BUTTON_SIZE = (110, 40)
INTERRUPT_SIZE = (250, 48)     # the largest target on screen: the one to hit in a hurry
INTERRUPT_FONT_SIZE = 16
LOADING_BAR_WIDTH = 360
PILL_HEIGHT = 30
CONTROL_LABELS = {"stopped": ("Start", "normal"), "loading": ("Loading\u2026", "disabled"),
                  "running": ("Stop", "normal"), "stopping": ("Stopping\u2026", "disabled")}


class Toolbar(ctk.CTkFrame):
    def __init__(self, master, on_start: Callable[[], None], on_pause: Callable[[], None],
                 on_interrupt: Callable[[], None], **kwargs) -> None:
        super().__init__(master, corner_radius=0, **kwargs)
        width, height = BUTTON_SIZE
        self.start_button = ctk.CTkButton(self, text="Start", width=width, height=height, command=on_start)
        self.start_button.pack(side="left", padx=(12, 6), pady=10)
        self.pause_button = ctk.CTkButton(self, text="Pause", width=width, height=height, state="disabled",
                                          command=on_pause)
        self.pause_button.pack(side="left", padx=6)
        self.interrupt_button = ctk.CTkButton(
            self, text="\u25a0  Interrupt   (Space / Esc)", width=INTERRUPT_SIZE[0], height=INTERRUPT_SIZE[1],
            fg_color=INTERRUPT_COLORS, hover_color=INTERRUPT_HOVER,
            font=ctk.CTkFont(size=INTERRUPT_FONT_SIZE, weight="bold"), command=on_interrupt)
        self.interrupt_button.pack(side="left", padx=12)
        self.status_pill = StatusPill(self, height=PILL_HEIGHT)
        self.status_pill.pack(side="left", padx=12)
        self.detail_label = ctk.CTkLabel(self, text="", text_color=MUTED_TEXT)
        self.detail_label.pack(side="left", padx=4)
        self.level_meter = LevelMeter(self)
        self.level_meter.pack(side="right", padx=16)

    def set_state(self, state: str) -> None:
        """stopped | loading | running | stopping: what Start/Stop and Pause offer."""
        text, enabled = CONTROL_LABELS[state]
        self.start_button.configure(text=text, state=enabled)
        self.pause_button.configure(state="normal" if state == "running" else "disabled", text="Pause")


class LoadingStrip(ctk.CTkFrame):
    """An animated bar and what is loading now; gridded only while the models load."""

    def __init__(self, master, **kwargs) -> None:
        super().__init__(master, fg_color="transparent", **kwargs)
        self.bar = ctk.CTkProgressBar(self, mode="indeterminate", width=LOADING_BAR_WIDTH)
        self.bar.pack(side="left", padx=(14, 8), pady=(4, 0))
        self.label = ctk.CTkLabel(self, text="", text_color=MUTED_TEXT)
        self.label.pack(side="left", pady=(4, 0))
        self.shown = False

    def show(self, detail: str) -> None:
        self.label.configure(text=(detail or "loading") + "\u2026")
        if not self.shown:
            self.shown = True
            self.grid()
            self.bar.start()

    def progress(self, text: str, fraction: float) -> None:
        """A task that knows how far it is (Progress events): a determinate bar."""
        self.bar.stop()
        self.bar.configure(mode="determinate")
        self.bar.set(fraction)
        self.label.configure(text=text)
        self.shown = True
        self.grid()

    def hide(self) -> None:
        if not self.shown:
            return
        self.shown = False
        self.bar.stop()
        self.bar.configure(mode="indeterminate")
        self.grid_remove()
