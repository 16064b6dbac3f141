"""Small reusable widgets for the window: the status pill, the microphone level meter, the style
sliders, a hover tooltip and the error banner, plus the colours they share.

Colours are (light, dark) pairs, the form customtkinter takes for every colour option, so the
widgets follow the appearance mode without code of their own. Plain-Tk pieces (the tooltip, text
tags, the runs table) pick from the same pairs with `pick(pair)`.
"""
from __future__ import annotations

import tkinter
from typing import Callable

import customtkinter as ctk

from labvoice.events import Status

Pair = tuple[str, str]

# One colour per status, chosen so each is readable with white text in both modes.
STATUS_COLORS: dict[Status, Pair] = {
    Status.IDLE: ("#80868b", "#5f6368"),
    Status.LOADING: ("#b06000", "#a05a00"),
    Status.LISTENING: ("#188038", "#1e7b34"),
    Status.HEARING: ("#00796b", "#00897b"),
    Status.THINKING: ("#6a3fb5", "#7e57c2"),
    Status.SPEAKING: ("#1967d2", "#1a73e8"),
    Status.PAUSED: ("#c26401", "#b45309"),
    Status.ERROR: ("#c5221f", "#b3261e"),
}
PILL_TEXT_COLOR = "#ffffff"
PILL_WIDTH = 132           # fits "Hearing you" at the default font size
PILL_RADIUS = 14
INTERRUPT_COLORS: Pair = ("#d93025", "#c5221f")
INTERRUPT_HOVER: Pair = ("#a50e0e", "#8c1d18")
BANNER_BG: Pair = ("#fce8e6", "#4a1d1b")
BANNER_FG: Pair = ("#8c1d18", "#f6aea9")
INFO_BG: Pair = ("#e8f0fe", "#1c2b45")
INFO_FG: Pair = ("#174ea6", "#aecbfa")
MUTED_TEXT: Pair = ("#5f6368", "#9aa0a6")
TOOLTIP_BG: Pair = ("#fefefe", "#2b2b2b")
TOOLTIP_FG: Pair = ("#202124", "#e8eaed")
METER_IDLE: Pair = ("#8ab4f8", "#5f7db0")
METER_SPEECH: Pair = ("#34a853", "#46c266")

METER_WIDTH = 150
METER_HEIGHT = 12
SPEECH_PROB_SHOWN = 0.5    # the meter turns green when the VAD's speech probability passes this
METER_DECAY = 0.6          # per poll without news, the bar falls to this fraction (no frozen level)
METER_FLOOR = 0.02         # below this the bar shows zero rather than creeping down forever
SLIDER_STEPS = 20          # 0.05 per step: fine enough to hear, coarse enough to click
TOOLTIP_OFFSET_PX = 14     # away from the pointer so it never covers what it explains
TOOLTIP_WRAP_PX = 360
BANNER_WRAP_PX = 900       # leaves room for the action and dismiss buttons in a 1000+ px window
TOOLTIP_DELAY_MS = 400     # rest this long before help appears: no flicker while the pointer passes
STYLE_LABELS = {
    "warmth": ("Warmth", "cooler, more concise  <->  warmer, more expressive voice"),
    "humour": ("Humour", "no jokes  <->  playful (only when no facts are at stake)"),
    "energy": ("Energy", "calm, slower voice  <->  upbeat, faster voice"),
    "verbosity": ("Verbosity", "one sentence  <->  up to four sentences"),
}


def pick(pair: Pair) -> str:
    """The half of a (light, dark) pair for the current appearance."""
    return pair[1] if ctk.get_appearance_mode() == "Dark" else pair[0]


class StatusPill(ctk.CTkLabel):
    """Idle, Loading, Listening, Hearing you, Thinking, Speaking, Paused, Error, as a coloured pill."""

    def __init__(self, master, **kwargs) -> None:
        super().__init__(master, width=PILL_WIDTH, corner_radius=PILL_RADIUS, text_color=PILL_TEXT_COLOR,
                         font=ctk.CTkFont(weight="bold"), **kwargs)
        self.status = Status.IDLE
        self.set(Status.IDLE)

    def set(self, status: Status, detail: str = "") -> None:
        self.status = status
        self.configure(text=f"\u25cf  {status.value}", fg_color=STATUS_COLORS[status])


class LevelMeter(ctk.CTkFrame):
    """The live microphone level; green while the voice detector hears speech."""

    def __init__(self, master, **kwargs) -> None:
        super().__init__(master, fg_color="transparent", **kwargs)
        ctk.CTkLabel(self, text="mic").pack(side="left", padx=(0, 6))
        self.bar = ctk.CTkProgressBar(self, width=METER_WIDTH, height=METER_HEIGHT, progress_color=METER_IDLE)
        self.bar.pack(side="left")
        self.bar.set(0.0)
        self.level = 0.0
        self.speech = False
        self._fresh = False

    def set(self, level: float, speech_prob: float) -> None:
        self.level = max(0.0, min(1.0, level))
        speech = speech_prob >= SPEECH_PROB_SHOWN
        if speech != self.speech:
            self.speech = speech
            self.bar.configure(progress_color=METER_SPEECH if speech else METER_IDLE)
        self.bar.set(self.level)
        self._fresh = True

    def tick(self) -> None:
        """Called every poll: a level nobody refreshed falls towards zero."""
        if self._fresh:
            self._fresh = False
        elif self.level > 0.0:
            self.level = self.level * METER_DECAY if self.level > METER_FLOOR else 0.0
            self.bar.set(self.level)


class StyleSliders(ctk.CTkFrame):
    """Warmth, humour, energy, verbosity (0..1). `on_change(name, value)` fires as a slider moves."""

    def __init__(self, master, values: dict[str, float], on_change: Callable[[str, float], None],
                 **kwargs) -> None:
        super().__init__(master, **kwargs)
        self._on_change = on_change
        self.sliders: dict[str, ctk.CTkSlider] = {}
        self._value_labels: dict[str, ctk.CTkLabel] = {}
        self.grid_columnconfigure(1, weight=1)
        ctk.CTkLabel(self, text="Style (applies from the next sentence)", font=ctk.CTkFont(weight="bold")) \
            .grid(row=0, column=0, columnspan=3, sticky="w", padx=10, pady=(6, 2))
        for row, (name, (label, hint)) in enumerate(STYLE_LABELS.items(), start=1):
            title = ctk.CTkLabel(self, text=label, width=80, anchor="w")
            title.grid(row=row, column=0, sticky="w", padx=(10, 4), pady=2)
            slider = ctk.CTkSlider(self, from_=0.0, to=1.0, number_of_steps=SLIDER_STEPS,
                                   command=lambda value, name=name: self._moved(name, value))
            slider.set(values.get(name, 0.5))
            slider.grid(row=row, column=1, sticky="ew", padx=4, pady=2)
            value_label = ctk.CTkLabel(self, text=f"{slider.get():.2f}", width=40)
            value_label.grid(row=row, column=2, sticky="e", padx=(4, 10))
            for widget in (title, slider):
                Tooltip.attach(widget, hint)
            self.sliders[name] = slider
            self._value_labels[name] = value_label

    def _moved(self, name: str, value: float) -> None:
        self._value_labels[name].configure(text=f"{value:.2f}")
        self._on_change(name, float(value))

    def values(self) -> dict[str, float]:
        return {name: round(float(slider.get()), 3) for name, slider in self.sliders.items()}


class Tooltip:
    """A small borderless window near the pointer, for hover help and the latency breakdown."""

    def __init__(self, master: tkinter.Misc) -> None:
        self.master = master
        self._window: tkinter.Toplevel | None = None

    @classmethod
    def attach(cls, widget: tkinter.Misc, text: str) -> "Tooltip":
        """Show `text` when the pointer rests on `widget` for TOOLTIP_DELAY_MS."""
        tip = cls(widget)
        pending: list[str] = []

        def enter(event: tkinter.Event) -> None:
            leave(event)
            x, y = event.x_root, event.y_root
            pending.append(widget.after(TOOLTIP_DELAY_MS, lambda: tip.show(text, x, y)))

        def leave(event: tkinter.Event) -> None:
            while pending:
                widget.after_cancel(pending.pop())
            tip.hide()

        widget.bind("<Enter>", enter, add="+")
        widget.bind("<Leave>", leave, add="+")
        widget.bind("<ButtonPress>", leave, add="+")
        return tip

    def show(self, text: str, x_root: int, y_root: int) -> None:
        self.hide()
        window = tkinter.Toplevel(self.master)
        window.wm_overrideredirect(True)
        window.wm_geometry(f"+{x_root + TOOLTIP_OFFSET_PX}+{y_root + TOOLTIP_OFFSET_PX}")
        tkinter.Label(window, text=text, justify="left", bg=pick(TOOLTIP_BG), fg=pick(TOOLTIP_FG),
                      relief="solid", borderwidth=1, padx=8, pady=5, wraplength=TOOLTIP_WRAP_PX).pack()
        self._window = window

    def hide(self) -> None:
        if self._window is not None:
            self._window.destroy()
            self._window = None


class Banner(ctk.CTkFrame):
    """A message strip under the toolbar with an optional action button and a dismiss button.

    Errors are red; `info=True` gives a calm blue strip (e.g. "typed questions still work").
    """

    def __init__(self, master, **kwargs) -> None:
        super().__init__(master, corner_radius=8, fg_color=BANNER_BG, **kwargs)
        self.grid_columnconfigure(0, weight=1)
        self.label = ctk.CTkLabel(self, text="", text_color=BANNER_FG, justify="left", anchor="w",
                                  wraplength=BANNER_WRAP_PX)
        self.label.grid(row=0, column=0, sticky="ew", padx=12, pady=8)
        self.action_button = ctk.CTkButton(self, text="", width=120)
        self.dismiss_button = ctk.CTkButton(self, text="Dismiss", width=80, fg_color="transparent",
                                            border_width=1, text_color=BANNER_FG, command=self.hide)
        self.dismiss_button.grid(row=0, column=2, padx=(4, 10), pady=8)
        self.message = ""
        self.code = ""             # the shown error's code (labvoice/errors.py); "" for a notice or none
        self.is_error = False
        self._on_hide: Callable[[], None] | None = None

    def show(self, message: str, action: tuple[str, Callable[[], None]] | None = None, info: bool = False,
             on_hide: Callable[[], None] | None = None, code: str = "") -> None:
        self.message, self.code, self.is_error, self._on_hide = message, code, not info, on_hide
        self.configure(fg_color=INFO_BG if info else BANNER_BG)
        prefix = "" if info else "\u26a0  "
        self.label.configure(text=prefix + message, text_color=INFO_FG if info else BANNER_FG)
        self.dismiss_button.configure(text_color=INFO_FG if info else BANNER_FG)
        if action is not None:
            text, command = action
            self.action_button.configure(text=text, command=lambda: (self.hide(), command()))
            self.action_button.grid(row=0, column=1, padx=4, pady=8)
        else:
            self.action_button.grid_remove()
        self.grid()

    def hide(self) -> None:
        self.message = self.code = ""
        self.grid_remove()
        if self._on_hide is not None:
            callback, self._on_hide = self._on_hide, None
            callback()
