"""The runs panel: the runs the last answer used as a small table (run id, dataset, model, key
metrics, note), a matplotlib chart of them (metric curves from the runs' metrics CSV artifacts, or
a leaderboard bar chart), a button to flag the selected run for publishing, and Confirm (the "yes" to
the assistant's read-back of a write; enabled while one waits) and Undo (the last change).

Reading the DB, reading the CSVs and drawing the chart happen on the panel's worker thread (see
chart.py); the Tk thread only fills the table and shows the finished image. Flagging writes the
run's note through `ManifestStore.flag_for_publishing` (the same operation the voice path uses: the
flag is added in front of the user's note, never over it, and the change is recorded in the write
journal), which commits before it returns; the panel re-reads the run and only then says it is done.
"""
from __future__ import annotations

from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk
from typing import Callable

import customtkinter as ctk

from labvoice.gui.chart import CURVES, LEADERBOARD, RunsData, load_runs, render, warm_up
from labvoice.gui.tasks import Worker
from labvoice.gui.widgets import MUTED_TEXT, pick

COLUMNS = (("run", "run id", 80), ("dataset", "dataset", 100), ("model", "model", 115),
           ("metrics", "key metrics", 235), ("note", "note", 160))
TABLE_FONT_SIZE = 10       # points: five columns must fit the panel's ~700 px
TABLE_ROW_PX = 22
TABLE_ROWS = 5
RESIZE_DEBOUNCE_MS = 250   # redraw the chart once the window stops changing size
CHART_PAD_PX = 8
MODE_NAMES = {"Curves": CURVES, "Leaderboard": LEADERBOARD}
TABLE_COLORS = {"bg": ("#ffffff", "#2b2b2b"), "fg": ("#202124", "#e8eaed"), "head": ("#e8eaed", "#3c3c3c"),
                "select": ("#c2dbff", "#1f4b8f")}


class RunsPanel(ctk.CTkFrame):
    """Table + chart + "Flag for publishing". `show()` after each answer that used runs."""

    def __init__(self, master, worker: Worker, db_path: Callable[[], Path], chart_mode: str,
                 on_mode: Callable[[str], None], on_ask: Callable[[str], None] | None = None,
                 on_changed: Callable[[], None] | None = None, **kwargs) -> None:
        super().__init__(master, **kwargs)
        self._on_ask = on_ask              # asks the assistant (typed): Confirm says "yes", Undo "undo that"
        self._on_changed = on_changed      # after this panel wrote (the Changes tab re-reads the record)
        self._worker = worker
        self._db_path = db_path
        self._on_mode = on_mode
        self.mode = chart_mode if chart_mode in (CURVES, LEADERBOARD) else CURVES
        self.data: RunsData | None = None
        self.status = ""
        self.chart_image: ctk.CTkImage | None = None
        self._request = 0          # newest chart request; older renders that finish late are dropped
        self._resize_job: str | None = None
        self._table_font: tkfont.Font | None = None
        self._table_bold: tkfont.Font | None = None
        self.grid_columnconfigure(0, weight=1)
        self.grid_rowconfigure(3, weight=1)

        self.title = ctk.CTkLabel(self, text="Runs the last answer used", font=ctk.CTkFont(weight="bold"))
        self.title.grid(row=0, column=0, sticky="w", padx=10, pady=(8, 2))
        self.table = ttk.Treeview(self, columns=[c[0] for c in COLUMNS], show="headings", height=TABLE_ROWS,
                                  selectmode="browse", style="Runs.Treeview")
        for key, heading, width in COLUMNS:
            self.table.heading(key, text=heading, anchor="w")
            self.table.column(key, width=width, minwidth=40, anchor="w", stretch=key in ("metrics", "note"))
        self.table.grid(row=1, column=0, sticky="ew", padx=10, pady=4)
        self.table.bind("<<TreeviewSelect>>", lambda e: self._selection_changed())

        bar = ctk.CTkFrame(self, fg_color="transparent")
        bar.grid(row=2, column=0, sticky="ew", padx=10, pady=2)
        self.flag_button = ctk.CTkButton(bar, text="Flag for publishing", width=150, state="disabled",
                                         command=self.flag_selected)
        self.flag_button.pack(side="left")
        self.confirm_button = ctk.CTkButton(bar, text="Confirm", width=76, state="disabled", command=self.confirm)
        self.confirm_button.pack(side="left", padx=(6, 0))
        self.undo_button = ctk.CTkButton(bar, text="Undo", width=60, command=self.undo)
        self.undo_button.pack(side="left", padx=(6, 0))
        self.status_label = ctk.CTkLabel(bar, text="", text_color=MUTED_TEXT)
        self.status_label.pack(side="left", padx=10)
        self.mode_button = ctk.CTkSegmentedButton(bar, values=list(MODE_NAMES), command=self._mode_chosen)
        self.mode_button.set(next(k for k, v in MODE_NAMES.items() if v == self.mode))
        self.mode_button.pack(side="right")

        self.chart = ctk.CTkLabel(self, text="Ask about your runs: the runs an answer used appear here.",
                                  text_color=MUTED_TEXT)
        self.chart.grid(row=3, column=0, sticky="nsew", padx=10, pady=(4, 10))
        self.chart.bind("<Configure>", lambda e: self._schedule_redraw())
        self.apply_colors()
        worker.submit(warm_up)

    # -- showing runs ---------------------------------------------------------------------------
    def show(self, run_ids: tuple[str, ...], facts: tuple[dict, ...], rows: tuple[dict, ...] = (),
             shape: str = "") -> None:
        """Load and show the runs an answer used (no-op for answers that used none); `rows` and `shape`
        (the result's) pick the picture: groups, a parameter's effect, a distribution or a ranking."""
        waiting = any(f.get("kind") == "write_pending" for f in facts)
        self.confirm_button.configure(state="normal" if waiting and self._on_ask else "disabled")
        if not run_ids:
            return
        self._request += 1
        request, size, dark = self._request, self._chart_size(), ctk.get_appearance_mode() == "Dark"
        mode, db = self.mode, self._db_path()

        def job():
            data = load_runs(db, tuple(run_ids), tuple(facts), tuple(rows), shape)
            return request, data, render(data, mode, size, dark)

        self._worker.submit(job, on_done=self._loaded, on_error=self._failed)

    def _loaded(self, result) -> None:
        request, data, image = result
        if request != self._request:
            return
        self.data = data
        self.table.delete(*self.table.get_children())
        for row in data.rows:
            self.table.insert("", "end", iid=row.run_id,
                              values=(row.run_id, row.dataset, row.model, row.key_metrics, row.note))
        missing = f"; not in the DB: {', '.join(data.missing)}" if data.missing else ""
        self._set_status(f"{len(data.rows)} run(s){missing}")
        self._show_image(image)
        self._selection_changed()

    def _failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self._set_status(f"cannot show the runs: {describe(err)}")

    def _show_image(self, image) -> None:
        self.chart_image = ctk.CTkImage(light_image=image, dark_image=image, size=image.size)
        self.chart.configure(image=self.chart_image, text="")

    def redraw(self) -> None:
        """Draw the current data again (new size, mode or appearance)."""
        if self.data is None:
            return
        self._request += 1
        request, data, mode = self._request, self.data, self.mode
        size, dark = self._chart_size(), ctk.get_appearance_mode() == "Dark"
        self._worker.submit(lambda: (request, render(data, mode, size, dark)), on_done=self._redrawn,
                            on_error=self._failed)

    def _redrawn(self, result) -> None:
        request, image = result
        if request == self._request:
            self._show_image(image)

    def _schedule_redraw(self) -> None:
        if self._resize_job is not None:
            self.after_cancel(self._resize_job)
        self._resize_job = self.after(RESIZE_DEBOUNCE_MS, self._resized)

    def _resized(self) -> None:
        self._resize_job = None
        if self.chart_image is not None and tuple(self.chart_image.cget("size")) != self._chart_size():
            self.redraw()

    def _chart_size(self) -> tuple[int, int]:
        return (max(1, self.chart.winfo_width() - CHART_PAD_PX), max(1, self.chart.winfo_height() - CHART_PAD_PX))

    def _mode_chosen(self, name: str) -> None:
        self.mode = MODE_NAMES[name]
        self._on_mode(self.mode)
        self.redraw()

    # -- flag for publishing ----------------------------------------------------------------------
    @property
    def selected_run_id(self) -> str | None:
        selection = self.table.selection()
        return selection[0] if selection else None

    def _selection_changed(self) -> None:
        self.flag_button.configure(state="normal" if self.selected_run_id else "disabled")

    def flag_selected(self) -> None:
        run_id = self.selected_run_id
        if run_id is None:
            return
        self.flag_button.configure(state="disabled")
        self._set_status(f"flagging {run_id}\u2026")
        db = self._db_path()

        def job():
            from labvoice.knowledge.live_runs import shared_runs
            from labvoice.knowledge.store import ManifestStore

            ManifestStore(db).flag_for_publishing(run_id, "window: Flag for publishing")   # committed and recorded
            return next(r for r in shared_runs(db).snapshot().runs if r.run_id == run_id)

        self._worker.submit(job, on_done=self._flagged, on_error=self._flag_failed)

    def _flagged(self, run) -> None:
        if self.table.exists(run.run_id):
            self.table.set(run.run_id, "note", run.note)
        self._set_status(f"\u2713 {run.run_id} flagged for publishing (saved)")
        self._selection_changed()
        if self._on_changed is not None:
            self._on_changed()

    def confirm(self) -> None:
        """Say "yes" to the write the assistant read back (it performs and records it)."""
        self.confirm_button.configure(state="disabled")
        if self._on_ask is not None:
            self._on_ask("yes")

    def undo(self) -> None:
        """Take the last change back: "undo that" to the assistant (the Changes tab also undoes directly)."""
        if self._on_ask is not None:
            self._on_ask("undo that")

    def _flag_failed(self, err: Exception) -> None:
        from labvoice.gui.errors import describe

        self._set_status(f"not flagged: {describe(err)}")
        self._selection_changed()

    def _set_status(self, text: str) -> None:
        self.status = text
        self.status_label.configure(text=text)

    # -- appearance -------------------------------------------------------------------------------
    def apply_colors(self) -> None:
        style = ttk.Style(self)
        if "clam" in style.theme_names():
            style.theme_use("clam")    # the default X11 theme ignores background colours
        bg, fg = pick(TABLE_COLORS["bg"]), pick(TABLE_COLORS["fg"])
        if self._table_font is None:
            family = tkfont.nametofont("TkDefaultFont").actual("family")
            self._table_font = tkfont.Font(self, family=family, size=TABLE_FONT_SIZE)
            self._table_bold = tkfont.Font(self, family=family, size=TABLE_FONT_SIZE, weight="bold")
        style.configure("Runs.Treeview", background=bg, fieldbackground=bg, foreground=fg, borderwidth=0,
                        font=self._table_font, rowheight=TABLE_ROW_PX)
        style.configure("Runs.Treeview.Heading", background=pick(TABLE_COLORS["head"]), foreground=fg,
                        font=self._table_bold)
        style.map("Runs.Treeview", background=[("selected", pick(TABLE_COLORS["select"]))],
                  foreground=[("selected", fg)])
        self.status_label.configure(text_color=MUTED_TEXT)
        self.redraw()

