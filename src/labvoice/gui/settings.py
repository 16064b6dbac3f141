"""The settings tab: microphone and speaker pickers (with a mic check and a test tone), profile,
barge-in mode, the run DB and knowledge folder, "Rebuild index" with a progress bar, and the
appearance (system, light, dark).

Device, profile, barge-in and path changes are saved with "Apply"; the window then restarts the
assistant if it is running (the models stay loaded when only audio or barge-in changed). Listing
devices, the device checks and the index rebuild run on the tools worker: they open audio
devices, load the embedding model or embed documents, none of which may hold up the Tk thread.
"""
from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any, Callable

import customtkinter as ctk
import numpy as np

from labvoice.config import Config
from labvoice.errors import LabvoiceError
from labvoice.gui.tasks import Outcome, Worker, post
from labvoice.gui.widgets import MUTED_TEXT, Tooltip

DEFAULT_DEVICE = "System default"
PROFILES = ("auto", "cpu", "gpu")
BARGE_IN = ("auto", "headphones", "speaker", "off")
APPEARANCE_NAMES = {"System": "system", "Light": "light", "Dark": "dark"}
BARGE_IN_HELP = ("auto: the echo canceller removes the answer from the mic, so your voice interrupts it\n"
                 "on speakers or headphones (without the canceller: like speaker).\n"
                 "headphones: your voice interrupts the answer at once.\n"
                 "speaker: only clear, loud speech interrupts (the mic also hears the answer).\n"
                 "off: only the Interrupt button, Space or Esc interrupt.")
PROFILE_HELP = ("auto: the GPU models when CUDA and the downloaded models are there, else the small CPU models.\n"
                "Changing it reloads the models at the next Start.")
TONE_HZ = 440.0
TONE_S = 0.6
TONE_LEVEL = 0.3           # well below full scale: a test tone should not startle anyone
TONE_RATE = 16000          # the Speaker resamples to whatever the device runs at
TONE_WAIT_MARGIN_S = 3.0   # device start-up (PulseAudio may stall new streams ~2 s) + playback latency
MIC_CHECK_S = 2.0
MIC_SILENT_RMS = 0.003     # below this the microphone is (practically) silent
FRAME_WAIT_S = 0.1
ENTRY_WIDTH = 260
SIDE_BUTTON_WIDTH = 110
ROW_PAD = 2                # the fields must fit the tab without scrolling on a 768-pixel-high screen
STATUS_HEIGHT = 18         # one line of muted status text
REBUILD_WRAP_PX = 560


def _device_value(name: str) -> str | None:
    return None if name == DEFAULT_DEVICE else name


class SettingsPanel(ctk.CTkFrame):
    """Settings widgets (a scrolling list of fields over a fixed Apply bar); the window passes
    callbacks for what they change."""

    def __init__(self, master, config: Config, appearance: str, tools: Worker, outbox: "queue.SimpleQueue[Outcome]",
                 on_apply: Callable[[dict[str, Any]], None], on_appearance: Callable[[str], None],
                 on_rebuilt: Callable[[str], None], on_error: Callable[[Exception], None], **kwargs) -> None:
        super().__init__(master, **kwargs)
        self.config = config
        self._tools, self._outbox = tools, outbox
        self._on_apply, self._on_appearance, self._on_rebuilt = on_apply, on_appearance, on_rebuilt
        self._on_error = on_error
        self.rebuild_status = ""
        self.rebuild_running = False
        bar = ctk.CTkFrame(self, fg_color="transparent")
        bar.pack(side="bottom", fill="x", pady=(6, 2))
        self.fields = fields = ctk.CTkScrollableFrame(self, fg_color="transparent")
        fields.pack(side="top", fill="both", expand=True)
        fields.grid_columnconfigure(1, weight=1)
        row = self._section(0, "Audio and voice")
        self.input_menu = ctk.CTkOptionMenu(fields, values=[DEFAULT_DEVICE], dynamic_resizing=False, width=ENTRY_WIDTH)
        row = self._labelled(row, "Microphone", self.input_menu)
        self.mic_button = ctk.CTkButton(fields, text="Check mic", width=SIDE_BUTTON_WIDTH, command=self.check_mic)
        self.mic_button.grid(row=row - 1, column=2, padx=6, pady=ROW_PAD)
        self.output_menu = ctk.CTkOptionMenu(fields, values=[DEFAULT_DEVICE], dynamic_resizing=False, width=ENTRY_WIDTH)
        row = self._labelled(row, "Speaker", self.output_menu)
        self.tone_button = ctk.CTkButton(fields, text="Test tone", width=SIDE_BUTTON_WIDTH, command=self.test_tone)
        self.tone_button.grid(row=row - 1, column=2, padx=6, pady=ROW_PAD)
        self.device_status = ctk.CTkLabel(fields, text="", text_color=MUTED_TEXT, anchor="w", justify="left",
                                          height=STATUS_HEIGHT)
        self.device_status.grid(row=row, column=1, columnspan=2, sticky="w", padx=6)
        row += 1
        self.barge_in = ctk.CTkSegmentedButton(fields, values=list(BARGE_IN))
        self.barge_in.set(config.pipeline.barge_in)
        row = self._labelled(row, "Barge-in (?)", self.barge_in, BARGE_IN_HELP)
        self.profile = ctk.CTkSegmentedButton(fields, values=list(PROFILES))
        self.profile.set(config.profile)
        row = self._labelled(row, "Profile (?)", self.profile, PROFILE_HELP)

        row = self._section(row, "Knowledge")
        self.db_entry = ctk.CTkEntry(fields, width=ENTRY_WIDTH)
        self.db_entry.insert(0, str(config.paths.db))
        row = self._labelled(row, "Run DB", self.db_entry)
        ctk.CTkButton(fields, text="Browse\u2026", width=SIDE_BUTTON_WIDTH, command=self.browse_db).grid(
            row=row - 1, column=2, padx=6, pady=ROW_PAD)
        self.kb_entry = ctk.CTkEntry(fields, width=ENTRY_WIDTH)
        self.kb_entry.insert(0, str(config.paths.knowledge_base))
        row = self._labelled(row, "Documents", self.kb_entry)
        ctk.CTkButton(fields, text="Browse\u2026", width=SIDE_BUTTON_WIDTH, command=self._browse_kb).grid(
            row=row - 1, column=2, padx=6, pady=ROW_PAD)
        self.rebuild_button = ctk.CTkButton(fields, text="Rebuild index", width=SIDE_BUTTON_WIDTH,
                                            command=self.rebuild_index)
        self.rebuild_button.grid(row=row, column=2, padx=6, pady=ROW_PAD)
        self.rebuild_progress = ctk.CTkProgressBar(fields, mode="determinate")
        self.rebuild_progress.set(0.0)
        self.rebuild_progress.grid(row=row, column=0, columnspan=2, sticky="ew", padx=10, pady=ROW_PAD)
        self.rebuild_label = ctk.CTkLabel(fields, text="", text_color=MUTED_TEXT, anchor="w", justify="left",
                                          wraplength=REBUILD_WRAP_PX, height=STATUS_HEIGHT)
        self.rebuild_label.grid(row=row + 1, column=0, columnspan=3, sticky="w", padx=10)

        self.apply_button = ctk.CTkButton(bar, text="Apply", width=SIDE_BUTTON_WIDTH, command=self.apply)
        self.apply_button.pack(side="left", padx=(10, 6))
        Tooltip.attach(self.apply_button, "Save these settings; a running assistant restarts with them "
                                          "(the models stay loaded unless the profile or a path changed).")
        self.appearance = ctk.CTkSegmentedButton(bar, values=list(APPEARANCE_NAMES),
                                                 command=lambda name: self._on_appearance(APPEARANCE_NAMES[name]))
        self.appearance.set(next(k for k, v in APPEARANCE_NAMES.items() if v == appearance))
        self.appearance.pack(side="right", padx=10)
        ctk.CTkLabel(bar, text="Appearance").pack(side="right", padx=4)
        self.load_devices()

    # -- layout helpers ---------------------------------------------------------------------------
    def _section(self, row: int, title: str) -> int:
        ctk.CTkLabel(self.fields, text=title, font=ctk.CTkFont(weight="bold")).grid(
            row=row, column=0, columnspan=3, sticky="w", padx=10, pady=(6, 0))
        return row + 1

    def _labelled(self, row: int, label: str, widget, hint: str = "") -> int:
        title = ctk.CTkLabel(self.fields, text=label, anchor="w")
        title.grid(row=row, column=0, sticky="w", padx=10, pady=ROW_PAD)
        if hint:
            Tooltip.attach(title, hint)
        widget.grid(row=row, column=1, sticky="ew", padx=6, pady=ROW_PAD)
        return row + 1

    def browse_db(self) -> None:
        path = ctk.filedialog.askopenfilename(title="Run manifests DB", filetypes=[("SQLite DB", "*.db"), ("All", "*")])
        if path:
            self.db_entry.delete(0, "end")
            self.db_entry.insert(0, path)

    def _browse_kb(self) -> None:
        path = ctk.filedialog.askdirectory(title="Knowledge-base folder (md, txt, pdf)")
        if path:
            self.kb_entry.delete(0, "end")
            self.kb_entry.insert(0, path)

    # -- values -------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """What Apply saves (prefs field names)."""
        return {"input_device": _device_value(self.input_menu.get()), "output_device": _device_value(self.output_menu.get()),
                "profile": self.profile.get(), "barge_in": self.barge_in.get(),
                "db": self.db_entry.get().strip() or None, "knowledge_base": self.kb_entry.get().strip() or None}

    def apply(self) -> None:
        self._on_apply(self.values())

    def set_config(self, config: Config) -> None:
        self.config = config

    # -- devices ------------------------------------------------------------------------------------
    def load_devices(self) -> None:
        from labvoice.audio.devices import list_devices

        def job():
            return [d.name for d in list_devices("input")], [d.name for d in list_devices("output")]

        self._tools.submit(job, on_done=self._devices_listed, on_error=self._device_failed)

    def _devices_listed(self, names: tuple[list[str], list[str]]) -> None:
        for menu, found, current in ((self.input_menu, names[0], self.config.audio.input_device),
                                     (self.output_menu, names[1], self.config.audio.output_device)):
            options = [DEFAULT_DEVICE] + list(dict.fromkeys(found))
            chosen = DEFAULT_DEVICE if current is None else str(current)
            if chosen not in options:
                options.append(chosen)
            menu.configure(values=options)
            menu.set(chosen)

    def _device_failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self.device_status.configure(text=describe(err).splitlines()[0])

    def test_tone(self) -> None:
        device, blocksize = _device_value(self.output_menu.get()), self.config.audio.output_blocksize
        self.tone_button.configure(state="disabled")
        self.device_status.configure(text="playing a test tone\u2026")
        self._tools.submit(_play_tone, device, blocksize, on_done=self._checked, on_error=self._check_failed)

    def check_mic(self) -> None:
        device = _device_value(self.input_menu.get())
        self.mic_button.configure(state="disabled")
        self.device_status.configure(text=f"listening for {MIC_CHECK_S:.0f} s: say something\u2026")
        self._tools.submit(_check_mic, device, self.config, on_done=self._checked, on_error=self._check_failed)

    def _checked(self, message: str) -> None:
        self.device_status.configure(text=message)
        self.tone_button.configure(state="normal")
        self.mic_button.configure(state="normal")

    def _check_failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self._checked(describe(err))

    # -- index ----------------------------------------------------------------------------------------
    def rebuild_index(self) -> None:
        if self.rebuild_running:
            return
        values = self.values()
        config = self.config.replace(**{"paths.db": Path(values["db"] or self.config.paths.db).expanduser(),
                                        "paths.knowledge_base": Path(values["knowledge_base"]
                                                                     or self.config.paths.knowledge_base).expanduser()})
        self.rebuild_running = True
        self.rebuild_button.configure(state="disabled")
        self.rebuild_progress.configure(mode="indeterminate")
        self.rebuild_progress.start()
        self._rebuild_phase("checking the run DB")
        outbox = self._outbox
        self._tools.submit(_rebuild, config, lambda phase: post(outbox, self._rebuild_phase, phase),
                           on_done=self._rebuilt, on_error=self._rebuild_failed)

    def _rebuild_phase(self, phase: str) -> None:
        self.rebuild_status = phase
        self.rebuild_label.configure(text=phase + "\u2026")

    def _rebuild_finished(self, text: str) -> None:
        self.rebuild_running = False
        self.rebuild_progress.stop()
        self.rebuild_progress.configure(mode="determinate")
        self.rebuild_button.configure(state="normal")
        self.rebuild_status = text
        self.rebuild_label.configure(text=text)

    def _rebuilt(self, summary: str) -> None:
        self.rebuild_progress.set(1.0)
        self._rebuild_finished(summary)
        self._on_rebuilt(summary)

    def _rebuild_failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self.rebuild_progress.set(0.0)
        self._rebuild_finished(f"not rebuilt: {describe(err)}")
        self._on_error(err)


def _play_tone(device: str | None, blocksize: int) -> str:
    import threading

    from labvoice.audio.playback import Speaker

    played = threading.Event()
    speaker = Speaker(device, blocksize=blocksize, on_chunk_played=lambda turn, index, t: played.set())
    speaker.start()
    try:
        t = np.arange(int(TONE_RATE * TONE_S)) / TONE_RATE
        speaker.set_current_turn(1)
        speaker.play(1, 0, (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32), TONE_RATE)
        ok = played.wait(TONE_S + TONE_WAIT_MARGIN_S)
    finally:
        speaker.stop()
    name = speaker.device.name
    return f"played a {TONE_HZ:.0f} Hz tone on {name}" if ok else f"{name} did not report playing the tone"


def _check_mic(device: str | None, config: Config) -> str:
    from labvoice.audio.capture import MicrophoneCapture

    capture = MicrophoneCapture(device, sample_rate=config.audio.sample_rate, frame_samples=config.audio.frame_samples)
    capture.start()
    peak, frames, deadline = 0.0, 0, time.monotonic() + MIC_CHECK_S
    try:
        while time.monotonic() < deadline:
            try:
                frame = capture.frames.get(timeout=FRAME_WAIT_S)
            except queue.Empty:
                continue
            frames += 1
            peak = max(peak, frame.rms)
    finally:
        capture.stop()
    name = capture.device.name
    if not frames:
        return f"{name} delivered no audio; pick another microphone"
    if peak < MIC_SILENT_RMS:
        return f"{name} works but heard only silence (peak level {peak:.4f}); is it muted?"
    return f"{name} works: peak level {peak:.3f}"


def _rebuild(config: Config, phase: Callable[[str], None]) -> str:
    from labvoice.knowledge.rebuild import rebuild_index

    return rebuild_index(config, on_phase=phase).summary()


def startup_problems(config: Config) -> list[LabvoiceError]:
    """The run DB and index checks the window makes at start-up (cheap: no model is loaded).
    Raises StoreError for a missing or unusable DB; returns the index's problems, each with its code
    (index_missing, index_stale) and a message naming its fix."""
    from labvoice.knowledge.cards import Chunking
    from labvoice.knowledge.embedder import model_info_from_config
    from labvoice.knowledge.index import problems
    from labvoice.knowledge.store import ManifestStore

    store = ManifestStore(config.paths.db)
    store.check()
    return list(problems(store, config.paths.knowledge_base, config.paths.index, model_info_from_config(config),
                         chunking=Chunking.from_config(config.knowledge)))
