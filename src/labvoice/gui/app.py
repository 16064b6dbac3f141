"""The labvoice desktop window: talk to your runs, watch the assistant work, interrupt it, tune it.

`run_gui(config)` opens `LabvoiceWindow` (or prints one line and returns 2 when there is no
display). The window runs in the Tk main thread and never waits on anything: it polls the
orchestrator's event queue and its workers' outcome queue with `after()`, and every blocking call
(model loading, orchestrator calls that touch audio devices, DB reads, index rebuilds, chart
drawing) runs on a worker thread (see session.py, tasks.py). It holds no pipeline logic.

Keyboard: Space and Esc interrupt the answer (Space types a space while a text field has the
focus); Enter in the question box asks. Space is "interrupt" rather than push-to-talk because the
assistant listens hands-free (the voice detector finds your turns), so the key a person reaches for
is the one that makes it stop talking.
"""
from __future__ import annotations

import collections
import logging
import os
import queue
import signal
import sys
import time
import tkinter
from typing import Callable

import customtkinter as ctk

from labvoice.config import Config, ConfigError
from labvoice.errors import LabvoiceError, code_of
from labvoice.events import (AnswerDelta, AnswerDone, ErrorEvent, Latency, MicLevel, Progress, Status,
                             StatusChanged, Transcript, TurnEnded)
from labvoice.gui.appearance import Appearance
from labvoice.gui.conversation import ConversationView
from labvoice.gui.dispatch import EventReader
from labvoice.gui.errors import Fix, describe, fix_for, fix_for_event
from labvoice.gui.prefs import Prefs, PrefsFile, config_overrides, settings_path
from labvoice.gui.changes_panel import ChangesPanel
from labvoice.gui.runs_panel import RunsPanel
from labvoice.gui.session import AssistantSession, Started
from labvoice.gui.settings import SettingsPanel, startup_problems
from labvoice.gui.tasks import Worker, run_outcomes
from labvoice.gui.toolbar import LoadingStrip, Toolbar
from labvoice.gui.widgets import MUTED_TEXT, Banner, StyleSliders

log = logging.getLogger(__name__)

NO_DISPLAY_MESSAGE = "no display: run `python main.py chat` or `listen`, or set DISPLAY"
EXIT_NO_DISPLAY = 2
POLL_MS = 30                  # ~33 polls/s: above the meter's 15 updates/s, far below a noticeable delay
MAX_EVENTS_PER_POLL = 400     # bounded work per poll: a burst of events can never stall the loop
MAX_OUTCOMES_PER_POLL = 50
DEFAULT_GEOMETRY = "1280x800"
MIN_WINDOW = (1000, 660)
CONVERSATION_SHARE, PANELS_SHARE = 4, 6   # window width split: the runs table needs ~700 px
CONVERSATION_FONT_SIZE = 14   # the text people read most: a size up from the widgets' default
ENTRY_HEIGHT, ASK_WIDTH = 36, 80
TAB_SETTLE_MS = 150           # past customtkinter's 100 ms delayed hiding of the other tabs
INDEX_CODES = ("index_missing", "index_stale")   # a banner with one of these goes once the index is rebuilt
RECENT_EVENTS = 2000          # kept for the tests and for a look in a debugger
WELCOME = ("Press Start to load the models and listen, then ask about your runs out loud, "
           "or type a question below.\n")


class LabvoiceWindow(ctk.CTk):
    """The main window. Public attributes are its widgets and state (the tests drive them)."""

    def __init__(self, config: Config, prefs_file: PrefsFile | None = None) -> None:
        self.base_config = config
        self.prefs_file = prefs_file or PrefsFile(settings_path(config.gui.settings_file))
        self.prefs: Prefs = self.prefs_file.load()
        self.appearance = Appearance(self.prefs.appearance or config.gui.appearance)
        self.appearance.apply()            # before the first widget exists (see appearance.py)
        super().__init__()
        self.title("labvoice")
        self.geometry(self.prefs.geometry or DEFAULT_GEOMETRY)
        self.minsize(*MIN_WINDOW)
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.session = AssistantSession(self.outbox, self.show_error)
        self.tools = Worker("gui-tools", self.outbox, self.show_error)
        self.runs_worker = Worker("gui-runs", self.outbox, self.show_error)
        self.config = self._effective_config(self.prefs)
        self.recent_events: collections.deque = collections.deque(maxlen=RECENT_EVENTS)
        self.pending_questions: list[str] = []
        self.last_interrupt_at: float | None = None
        self.events = EventReader(MAX_EVENTS_PER_POLL)
        self._build()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind_all("<Escape>", self._key_interrupt)
        self.bind_all("<space>", self._key_space)
        self._poll_job = self.after(POLL_MS, self._poll)
        self.appearance.follow(self, self.tools, self._recolor)
        self.tools.submit(startup_problems, self.config, on_done=self._startup_checked)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.grid_columnconfigure(0, weight=1)
        self.grid_rowconfigure(3, weight=1)
        self.toolbar = Toolbar(self, on_start=self.toggle_start, on_pause=self.toggle_pause,
                               on_interrupt=self.interrupt)
        self.toolbar.grid(row=0, column=0, sticky="ew")
        self.start_button, self.pause_button = self.toolbar.start_button, self.toolbar.pause_button
        self.mic_paused = False
        self.interrupt_button, self.status_pill = self.toolbar.interrupt_button, self.toolbar.status_pill
        self.detail_label, self.level_meter = self.toolbar.detail_label, self.toolbar.level_meter
        self.loading = LoadingStrip(self)
        self.loading.grid(row=1, column=0, sticky="ew")
        self.loading.grid_remove()
        self.banner = Banner(self)
        self.banner.grid(row=2, column=0, sticky="ew", padx=12, pady=(8, 0))
        self.banner.grid_remove()

        body = ctk.CTkFrame(self, fg_color="transparent")
        body.grid(row=3, column=0, sticky="nsew", padx=12, pady=10)
        body.grid_columnconfigure(0, weight=CONVERSATION_SHARE, uniform="body")
        body.grid_columnconfigure(1, weight=PANELS_SHARE, uniform="body")
        body.grid_rowconfigure(0, weight=1)
        left = ctk.CTkFrame(body)
        left.grid(row=0, column=0, sticky="nsew", padx=(0, 6))
        left.grid_columnconfigure(0, weight=1)
        left.grid_rowconfigure(1, weight=1)
        ctk.CTkLabel(left, text="Conversation", font=ctk.CTkFont(weight="bold")).grid(
            row=0, column=0, sticky="w", padx=10, pady=(8, 0))
        self.conversation = ConversationView(left, font=ctk.CTkFont(size=CONVERSATION_FONT_SIZE))
        self.conversation.grid(row=1, column=0, columnspan=2, sticky="nsew", padx=8, pady=6)
        self.conversation.set_welcome(WELCOME)
        self.question_entry = ctk.CTkEntry(left, placeholder_text="Type a question and press Enter",
                                           height=ENTRY_HEIGHT)
        self.question_entry.grid(row=2, column=0, sticky="ew", padx=(8, 4), pady=(0, 8))
        self.question_entry.bind("<Return>", lambda e: self.ask())
        self.ask_button = ctk.CTkButton(left, text="Ask", width=ASK_WIDTH, height=ENTRY_HEIGHT, command=self.ask)
        self.ask_button.grid(row=2, column=1, padx=(4, 8), pady=(0, 8))

        right = ctk.CTkFrame(body, fg_color="transparent")
        right.grid(row=0, column=1, sticky="nsew", padx=(6, 0))
        right.grid_columnconfigure(0, weight=1)
        right.grid_rowconfigure(1, weight=1)
        style = {**self.config.style.model_dump(), **self.prefs.style}
        self.sliders = StyleSliders(right, style, self._style_moved)
        self.sliders.grid(row=0, column=0, sticky="ew", pady=(0, 6))
        self.tabs = ctk.CTkTabview(right)
        self.tabs.grid(row=1, column=0, sticky="nsew")
        self.runs_panel = RunsPanel(self.tabs.add("Runs"), self.runs_worker, lambda: self.config.paths.db,
                                    self.prefs.chart or "curves", self._chart_mode_chosen, on_ask=self.ask_text,
                                    on_changed=lambda: self.changes.refresh(), fg_color="transparent")
        self.runs_panel.pack(fill="both", expand=True)
        self.changes = ChangesPanel(self.tabs.add("Changes"), self.runs_worker, lambda: self.config.paths.db,
                                    fg_color="transparent")
        self.changes.pack(fill="both", expand=True)
        self.settings = SettingsPanel(self.tabs.add("Settings"), self.config, self.appearance.mode, self.tools,
                                      self.outbox,
                                      on_apply=self.apply_settings, on_appearance=self.set_appearance,
                                      on_rebuilt=self._index_rebuilt, on_error=self.show_error,
                                      fg_color="transparent")
        self.settings.pack(fill="both", expand=True)
        ctk.CTkLabel(self, text="Space or Esc: interrupt   \u00b7   Enter: ask   \u00b7   hover a latency for "
                     "its stage breakdown, click it to expand", text_color=MUTED_TEXT).grid(
            row=4, column=0, sticky="w", padx=14, pady=(0, 6))

    # -- controls -------------------------------------------------------------------------------
    def toggle_start(self) -> None:
        if self.session.state == "stopped":
            self.start()
        elif self.session.state == "running":
            self._set_controls("stopping")
            self.session.stop(on_stopped=lambda err: self._stopped(err))

    def start(self) -> None:
        self._set_controls("loading")
        self.session.start(self.config, self.sliders.values(), on_started=self._started, on_failed=self._start_failed)

    def _started(self, started: Started) -> None:
        self._set_controls("running")
        modes = {(True, True): "", (True, False): "no speaker", (False, True): "typed questions only",
                 (False, False): "typed questions only, no speaker"}
        self.detail_label.configure(text=modes[(started.with_input, started.with_output)])
        if started.warning:
            self.banner.show(started.warning, action=("Open settings", lambda: self.show_tab("Settings")), info=True)
        questions, self.pending_questions = self.pending_questions, []
        for text in questions:
            self.session.ask(text)

    def _start_failed(self, err: Exception) -> None:
        self._set_controls("stopped")
        self.status_pill.set(Status.ERROR)
        self.loading.hide()
        self.pending_questions.clear()
        self.show_error(err)

    def _stopped(self, err: Exception | None) -> None:
        self._set_controls("stopped")
        self.detail_label.configure(text="")
        if err is not None:
            self.show_error(err)

    def _set_controls(self, state: str) -> None:
        self.toolbar.set_state(state)

    def toggle_pause(self) -> None:
        if self.mic_paused:
            self.session.resume()
        else:
            self.session.pause()

    def interrupt(self) -> None:
        self.last_interrupt_at = time.monotonic()
        self.session.interrupt()

    def ask(self) -> None:
        text = self.question_entry.get().strip()
        if text:
            self.question_entry.delete(0, "end")
            self.ask_text(text)

    def ask_text(self, text: str) -> None:
        """Ask the assistant `text` as typed (the Ask button; the runs panel's Confirm and Undo)."""
        if self.session.running:
            self.session.ask(text)
        else:
            self.pending_questions.append(text)
            if self.session.state == "stopped":
                self.start()

    def _key_interrupt(self, event: tkinter.Event) -> str:
        self.interrupt()
        return "break"

    def _key_space(self, event: tkinter.Event) -> str | None:
        try:
            focus = self.focus_get()
        except (KeyError, tkinter.TclError):   # focus in a menu or a vanished widget
            focus = None
        if isinstance(focus, (tkinter.Entry, tkinter.Text)) and str(focus.cget("state")) != "disabled":
            return None        # typing: the space goes into the text
        self.interrupt()
        return "break"

    def _style_moved(self, name: str, value: float) -> None:
        self.session.set_style(**{name: round(value, 3)})

    def show_tab(self, name: str) -> None:
        """Runs | Settings. customtkinter's `set()` hides every other tab 100 ms later, even one
        chosen in between; choosing the current tab again after that keeps the last choice shown."""
        self.tabs.set(name)
        self.after(TAB_SETTLE_MS, lambda: self.tabs.set(self.tabs.get()))

    @property
    def orchestrator(self):
        """The running assistant's public API (None before the first Start)."""
        return self.session.orchestrator

    # -- events ---------------------------------------------------------------------------------
    def _poll(self) -> None:
        try:
            run_outcomes(self.outbox, MAX_OUTCOMES_PER_POLL)
            self._drain_events()
            self.level_meter.tick()
        finally:
            self._poll_job = self.after(POLL_MS, self._poll)

    def _drain_events(self) -> None:
        for event in self.events.read(self.session.events):
            self.recent_events.append(event)
            self._handle(event)

    def _handle(self, event) -> None:
        if isinstance(event, StatusChanged):
            self.status_pill.set(event.status)
            if event.status == Status.LOADING:
                self.loading.show(event.detail)
            else:
                self.loading.hide()
            if self.session.running:
                self.mic_paused = event.paused   # paused while it still thinks or speaks, too
                self.pause_button.configure(text="Resume" if event.paused else "Pause")
        elif isinstance(event, MicLevel):
            self.level_meter.set(event.rms, event.speech_prob)
        elif isinstance(event, Transcript):
            self.conversation.add_transcript(self.events.key(event), event.text, event.source)
        elif isinstance(event, AnswerDelta):
            self.conversation.stream_answer(self.events.key(event), event.text)
        elif isinstance(event, AnswerDone):
            self.conversation.finish_answer(self.events.key(event), event.text, event.interrupted, event.fallback,
                                            event.used_run_ids, event.display, event.query, event.sources)
            self.runs_panel.show(event.used_run_ids, event.facts, event.rows, (event.query or {}).get("shape", ""))
            if any(str(f.get("kind", "")).startswith("write_") for f in event.facts):
                self.changes.refresh()     # a write, an undo or a read-back: the record may have grown
        elif isinstance(event, Latency):
            self.conversation.set_latency(self.events.key(event), event.stages_ms)
        elif isinstance(event, TurnEnded):
            self.conversation.end_turn(self.events.key(event), event.reason)
        elif isinstance(event, ErrorEvent):
            self._show_fixable(f"{event.stage}: {event.message}", fix_for_event(event), event.code)
        elif isinstance(event, Progress) and event.total:
            self.loading.progress(f"{event.task}: {event.message} {event.done}/{event.total}", event.done / event.total)

    # -- errors ---------------------------------------------------------------------------------
    def show_error(self, err: BaseException) -> None:
        """A readable banner, with the button its code calls for (gui/errors.py FIXES); never a traceback."""
        self._show_fixable(describe(err), fix_for(err), code_of(err))

    def _show_fixable(self, message: str, fix: Fix | None, code: str) -> None:
        self.banner.show(message, action=(fix.label, self._fix_command(fix)) if fix is not None else None, code=code)

    def _fix_command(self, fix: Fix) -> Callable[[], None]:
        if fix.action == "rebuild_index":
            return self._rebuild_from_banner
        if fix.action == "choose_db":
            return self._choose_db
        if fix.action == "copy_install":
            return lambda: self._copy_command(fix.command)
        if fix.action == "reopen_audio":
            return self.session.restart_audio
        return lambda: self.show_tab("Settings")

    def _choose_db(self) -> None:
        self.show_tab("Settings")
        self.settings.browse_db()

    def _copy_command(self, command: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(command)
        self.banner.show(f"Copied: {command} (run it in a terminal, then press Start)", info=True)

    def report_callback_exception(self, exc, value, tb) -> None:
        if isinstance(value, KeyboardInterrupt):     # Ctrl-C in the terminal: close cleanly
            self.close()
            return
        log.error("error in a window callback", exc_info=(exc, value, tb))
        self.show_error(value)

    def _rebuild_from_banner(self) -> None:
        self.show_tab("Settings")
        self.settings.rebuild_index()

    def _startup_checked(self, problems: list[LabvoiceError]) -> None:
        if problems:
            self.show_error(problems[0])

    def _index_rebuilt(self, summary: str) -> None:
        if self.banner.code in INDEX_CODES:
            self.banner.hide()

    # -- settings, appearance, prefs ----------------------------------------------------------------
    def _effective_config(self, prefs: Prefs) -> Config:
        try:
            return self.base_config.replace(**config_overrides(prefs))
        except ConfigError as err:
            self.after_idle(lambda err=err: self.show_error(err))
            return self.base_config

    def apply_settings(self, values: dict) -> None:
        prefs = self.prefs.with_changes(**values)
        try:
            config = self.base_config.replace(**config_overrides(prefs))
        except ConfigError as err:
            self.show_error(err)
            return
        self.prefs, self.config = prefs, config
        self.settings.set_config(config)
        self.save_prefs()
        if self.session.running:
            self._set_controls("stopping")
            self.session.stop(on_stopped=lambda err: (self._stopped(err), self.start()))
        else:
            self.banner.show("Settings saved; they apply when you press Start.", info=True)

    def set_appearance(self, mode: str) -> None:
        """system | light | dark (the Settings toggle)."""
        self.appearance.mode = mode
        self.prefs = self.prefs.with_changes(appearance=mode)
        self.appearance.apply()
        self._recolor()
        self.save_prefs()

    def _recolor(self) -> None:
        """Plain-Tk parts (text tags, the runs table, the chart) pick their colours themselves."""
        self.conversation.apply_colors()
        self.runs_panel.apply_colors()

    def _chart_mode_chosen(self, mode: str) -> None:
        self.prefs = self.prefs.with_changes(chart=mode)

    def save_prefs(self) -> None:
        self.prefs = self.prefs.with_changes(geometry=self.geometry(), style=self.sliders.values())
        try:
            self.prefs_file.save(self.prefs)
        except OSError as err:
            log.warning("cannot save the window settings to %s: %s", self.prefs_file.path, err)

    def close(self) -> None:
        """Save the settings, stop the assistant (models freed), close the window."""
        self.save_prefs()
        self.withdraw()
        self.after_cancel(self._poll_job)
        self.session.close()
        self.tools.close(timeout=0)
        self.runs_worker.close(timeout=0)
        self.destroy()


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True            # Windows and macOS Tk need no X server
    return bool(os.environ.get("DISPLAY"))


def run_gui(config: Config) -> int:
    """Open the window and run until it is closed. 2 (and one line on stderr) without a display."""
    if not _has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return EXIT_NO_DISPLAY
    try:
        window = LabvoiceWindow(config)
    except tkinter.TclError as err:
        if "display" not in str(err).lower():
            raise
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return EXIT_NO_DISPLAY
    signal.signal(signal.SIGTERM, lambda *_: window.after(0, window.close))
    window.mainloop()
    return 0
