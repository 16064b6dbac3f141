"""The "Changes" tab: the record of every change the assistant (or the runs panel) made to the runs,
newest first (time, change number, action, run, note before and after, the words that asked for it),
read from the write journal in the runs DB (knowledge/journal.py) on the panel's worker thread. The
same record is printed by `labvoice log`; "Undo last change" takes the newest change back."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import customtkinter as ctk

from labvoice.gui.tasks import Worker
from labvoice.gui.widgets import MUTED_TEXT
from labvoice.knowledge.journal import WriteJournal, format_record

SHOWN_RECORDS = 200


class ChangesPanel(ctk.CTkFrame):
    """The record of writes, with Refresh and Undo last change. `refresh()` after each write."""

    def __init__(self, master, worker: Worker, db_path: Callable[[], Path],
                 on_undone: Callable[[], None] | None = None, **kwargs) -> None:
        super().__init__(master, **kwargs)
        self._worker = worker
        self._db_path = db_path
        self._on_undone = on_undone
        self.records: list = []
        self.status = ""
        self.grid_columnconfigure(0, weight=1)
        self.grid_rowconfigure(1, weight=1)
        bar = ctk.CTkFrame(self, fg_color="transparent")
        bar.grid(row=0, column=0, sticky="ew", padx=10, pady=(8, 2))
        self.undo_button = ctk.CTkButton(bar, text="Undo last change", width=140, command=self.undo_last)
        self.undo_button.pack(side="left")
        ctk.CTkButton(bar, text="Refresh", width=80, command=self.refresh).pack(side="left", padx=6)
        self.status_label = ctk.CTkLabel(bar, text="", text_color=MUTED_TEXT)
        self.status_label.pack(side="left", padx=6)
        self.text = ctk.CTkTextbox(self, wrap="none")
        self.text.grid(row=1, column=0, sticky="nsew", padx=10, pady=(4, 10))
        self.text.configure(state="disabled")
        self.refresh()

    def refresh(self) -> None:
        db = self._db_path()
        self._worker.submit(lambda: WriteJournal(db).records(limit=SHOWN_RECORDS), on_done=self._loaded,
                            on_error=self._failed)

    def _loaded(self, records: list) -> None:
        self.records = records
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        self.text.insert("end", "\n".join(format_record(r) for r in records) or
                         "No changes yet. Flag, unflag and undo show up here (and in `labvoice log`).")
        self.text.configure(state="disabled")
        self._set_status(f"{len(records)} change(s) recorded")

    def undo_last(self) -> None:
        """Put back what the newest change not yet undone found (the same undo as saying "undo that")."""
        self.undo_button.configure(state="disabled")
        db = self._db_path()
        self._worker.submit(lambda: WriteJournal(db).undo_last("window: Undo last change"),
                            on_done=self._undone, on_error=self._failed)

    def _undone(self, batch) -> None:
        self.undo_button.configure(state="normal")
        self._set_status(f"\u2713 undid change #{batch.undoes} ({len(batch.changes)} run(s))")
        self.refresh()
        if self._on_undone is not None:
            self._on_undone()

    def _failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self.undo_button.configure(state="normal")
        self._set_status(describe(err))

    def _set_status(self, text: str) -> None:
        self.status = text
        self.status_label.configure(text=text)
