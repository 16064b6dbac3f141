"""The conversation view: what you said, what the assistant answered (as it streams), which
answers were interrupted, and each turn's latency with its stage breakdown.

One read-only text widget holds every turn as three tagged regions, `user-N`, `ans-N` and
`meta-N` (N names the turn: the assistant run and its turn id). Updating a turn replaces one region in place (find its range by tag,
delete, insert at the same index), so a late event for an older turn lands in the right place and
nothing else is redrawn. The latency in the meta line shows the stage breakdown in a tooltip on
hover, and a click expands it inline under the turn.

An interrupted answer keeps only what was actually spoken in normal text; what the model wrote
but the speaker never said follows struck through, then an "interrupted" mark: the same honest
history the assistant itself keeps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import customtkinter as ctk

from labvoice.gui.widgets import MUTED_TEXT, Tooltip, pick

# Stages of a turn, in pipeline order, as the Latency event names them (ms after end of speech).
STAGES = (
    ("endpointing", "end of speech detected"),
    ("stt", "speech recognised"),
    ("retrieval", "facts and passages found"),
    ("first_token", "first word from the language model"),
    ("first_chunk", "first sentence ready"),
    ("tts_first_audio", "first sentence synthesized"),
    ("first_audio", "first sound from the speaker"),
    ("llm_done", "answer fully written"),
)
HEADLINE_STAGES = (("first_audio", "to first audio"), ("first_chunk", "to first sentence"))
USER_COLOR = ("#1967d2", "#8ab4f8")
BOT_COLOR = ("#188038", "#81c995")
LINK_COLOR = ("#6a3fb5", "#c58af9")
FLAG_COLOR = ("#b06000", "#fcad70")
INDENT_PX = 18
TURN_GAP_PX = 10


SOURCE_CHARS = 400          # of a document passage shown under its answer
TurnKey = tuple[int, int]   # (assistant run, turn id): turn ids start again when the assistant restarts


@dataclass
class TurnView:
    """What the window knows about one turn."""

    key: TurnKey
    source: str = "voice"
    transcript: str = ""
    generated: str = ""           # everything the model wrote so far (AnswerDelta)
    answer: str = ""              # what was said (AnswerDone: only the played part if interrupted)
    done: bool = False
    interrupted: bool = False
    fallback: bool = False
    used_run_ids: tuple[str, ...] = ()
    display: str = ""             # the answer with full run ids and exact values (what was spoken is `answer`)
    query: dict | None = None     # the query that was executed (JSON data)
    sources: tuple[dict, ...] = ()   # document answers: the passage and its file (answer/documents.py)
    latency_ms: dict[str, float] = field(default_factory=dict)
    expanded: bool = False
    note: str = ""

    @property
    def tag(self) -> str:
        """The turn's part of the text-widget tag names."""
        return "_".join(str(part) for part in self.key)

    @property
    def unspoken(self) -> str:
        """The part of the written answer that was never played (interrupted turns)."""
        if not self.interrupted or not self.generated:
            return ""
        if self.generated.startswith(self.answer):
            return self.generated[len(self.answer):].strip()
        return "" if self.answer else self.generated

    def headline_latency(self) -> tuple[float, str] | None:
        for key, label in HEADLINE_STAGES:
            if key in self.latency_ms:
                return self.latency_ms[key], label
        return None

    def breakdown(self) -> str:
        # In time order: with facts first, the language model's first word comes after the first audio.
        present = sorted(((self.latency_ms[key], label) for key, label in STAGES if key in self.latency_ms),
                         key=lambda pair: pair[0])
        lines = [f"{label}: {ms:.0f} ms" for ms, label in present]
        start = "you stopped talking" if self.source == "voice" else "you pressed Ask"
        return f"milliseconds after {start}\n" + "\n".join(lines) if lines else "no timings for this turn"


def _field_text(field: dict | None) -> str:
    if not field:
        return ""
    return field.get("name") or field.get("kind", "")


def query_summary(query: dict) -> str:
    """The executed query in one line: "rank by val_acc (descending), dataset = mnist, limit 1"."""
    kind = query.get("type", "")
    if kind != "runs":
        reason = query.get("reason") or query.get("kind") or ""
        return f"{kind.replace('_', ' ')}{': ' + reason if reason else ''}"
    parts = [query.get("shape", "")]
    order = query.get("order")
    if order:
        parts[0] += f" by {_field_text(order.get('field'))} ({'descending' if order.get('descending', True) else 'ascending'})"
    if query.get("aggregate"):
        parts.append(f"{query['aggregate']} of {query.get('metric') or 'runs'}")
    elif query.get("metric") and not order:
        parts.append(f"metric {query['metric']}")
    if query.get("group_by"):
        parts.append(f"per {_field_text(query['group_by'])}")
    if query.get("select"):
        parts.append(f"select {_field_text(query['select'])}")
    for flt in query.get("filters", ()):
        value = flt.get("value")
        value = ", ".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"{_field_text(flt.get('field'))} {flt.get('op')} {value}")
    if query.get("run_ids"):
        parts.append("runs " + ", ".join(query["run_ids"]))
    if query.get("limit"):
        parts.append(f"limit {query['limit']}")
    if query.get("compare"):
        parts.append("compare [" + "; ".join(query_summary({"type": "runs", **side}) for side in query["compare"]) + "]")
    return ", ".join(p for p in parts if p)


class ConversationView(ctk.CTkTextbox):
    """Read-only transcript of the session. Call the update methods from the Tk thread only."""

    def __init__(self, master, **kwargs) -> None:
        super().__init__(master, wrap="word", state="disabled", **kwargs)
        self.turns: dict[int, TurnView] = {}
        self._tooltip = Tooltip(self)
        self.apply_colors()

    # -- public updates -----------------------------------------------------------------------
    def set_welcome(self, text: str) -> None:
        """A hint shown until the first turn arrives."""
        with _Editable(self):
            self.insert("end", text, ("muted", "welcome"))

    def add_transcript(self, key: TurnKey, text: str, source: str) -> None:
        turn = self._ensure(key)
        turn.transcript, turn.source = text, source
        self._render(turn, "user")

    def stream_answer(self, key: TurnKey, text: str) -> None:
        turn = self._ensure(key)
        if turn.done:
            return
        turn.generated = text
        self._render(turn, "ans")

    def finish_answer(self, key: TurnKey, text: str, interrupted: bool, fallback: bool,
                      used_run_ids: tuple[str, ...], display: str = "", query: dict | None = None,
                      sources: tuple[dict, ...] = ()) -> None:
        """`text` is what was spoken; `display` the same answer with full run ids and exact values,
        shown beside it with the executed `query`, and for a document answer the passage and its file."""
        turn = self._ensure(key)
        turn.answer, turn.interrupted, turn.fallback = text, interrupted, fallback
        turn.used_run_ids, turn.done = tuple(used_run_ids), True
        turn.display, turn.query, turn.sources = display, query, tuple(sources)
        self._render(turn, "ans")
        self._render(turn, "meta")

    def set_latency(self, key: TurnKey, stages_ms: dict[str, float]) -> None:
        turn = self._ensure(key)
        turn.latency_ms = dict(stages_ms)
        self._render(turn, "meta")

    def end_turn(self, key: TurnKey, reason: str) -> None:
        """TurnEnded: a turn that produced no words or failed gets a short note."""
        if reason in ("empty", "error") and (key in self.turns or reason == "empty"):
            turn = self._ensure(key)
            turn.done = True
            turn.note = "heard a sound, but no words" if reason == "empty" else "this turn failed (see the banner)"
            self._render(turn, "meta")

    def toggle_breakdown(self, key: TurnKey) -> None:
        turn = self.turns.get(key)
        if turn is not None:
            self._unhover()       # the link is redrawn under the pointer: no <Leave> will come
            turn.expanded = not turn.expanded
            self._render(turn, "meta")

    def text(self) -> str:
        return self.get("1.0", "end")

    def apply_colors(self) -> None:
        """(Re)colour the tags for the current appearance mode."""
        self.tag_config("who_user", foreground=pick(USER_COLOR))
        self.tag_config("who_bot", foreground=pick(BOT_COLOR))
        self.tag_config("muted", foreground=pick(MUTED_TEXT))
        self.tag_config("unspoken", foreground=pick(MUTED_TEXT), overstrike=True)
        self.tag_config("flag", foreground=pick(FLAG_COLOR))
        self.tag_config("link", foreground=pick(LINK_COLOR), underline=True)
        self.tag_config("meta", lmargin1=INDENT_PX, lmargin2=INDENT_PX)
        self.tag_config("turn_start", spacing1=TURN_GAP_PX)
        self.tag_config("breakdown", lmargin1=2 * INDENT_PX, lmargin2=2 * INDENT_PX, foreground=pick(MUTED_TEXT))

    # -- rendering ------------------------------------------------------------------------------
    def _ensure(self, key: TurnKey) -> TurnView:
        turn = self.turns.get(key)
        if turn is None:
            turn = self.turns[key] = TurnView(key)
            with _Editable(self):
                welcome = self.tag_ranges("welcome")
                if welcome:
                    self.delete(welcome[0], welcome[-1])
                for region in ("user", "ans", "meta"):
                    self._insert_segments("end", f"{region}-{turn.tag}", self._segments(turn, region))
            self.see("end")       # a new turn always comes into view
            link = f"lat-{turn.tag}"
            self.tag_bind(link, "<Enter>", lambda e, t=key: self._hover(t, e.x_root, e.y_root))
            self.tag_bind(link, "<Leave>", lambda e: self._unhover())
            self.tag_bind(link, "<Button-1>", lambda e, t=key: self.toggle_breakdown(t))
        return turn

    def _hover(self, key: TurnKey, x: int, y: int) -> None:
        self.configure(cursor="hand2")
        self._tooltip.show(self.turns[key].breakdown(), x, y)

    def _unhover(self) -> None:
        self.configure(cursor="")
        self._tooltip.hide()

    def _segments(self, turn: TurnView, region: str) -> list[tuple[str, tuple[str, ...]]]:
        if region == "user":
            who = "You" if turn.source == "voice" else "You (typed)"
            return [(f"{who}  ", ("who_user", "turn_start")), (turn.transcript or "\u2026", ()), ("\n", ())]
        if region == "ans":
            if turn.done:
                said = turn.answer
                parts: list[tuple[str, tuple[str, ...]]] = [("labvoice  ", ("who_bot",))]
                if said:
                    parts.append((said, ()))
                if turn.unspoken:
                    parts.append(((" " if said else "") + turn.unspoken, ("unspoken",)))
                if not said and not turn.unspoken:
                    parts.append(("(nothing was said)", ("muted",)))
                return parts + [("\n", ())]
            if not turn.generated:
                return [("labvoice  ", ("who_bot",)), ("\u2026", ("muted",)), ("\n", ())]
            return [("labvoice  ", ("who_bot",)), (turn.generated, ()), ("\n", ())]
        return self._meta_segments(turn)

    def _meta_segments(self, turn: TurnView) -> list[tuple[str, tuple[str, ...]]]:
        tags = ("meta",)
        if turn.note:
            return [(turn.note, (*tags, "muted")), ("\n", tags)]
        if not turn.done:
            return [("thinking\u2026" if not turn.generated else "speaking\u2026", (*tags, "muted")), ("\n", tags)]
        parts: list[tuple[str, tuple[str, ...]]] = []
        if turn.display and " ".join(turn.display.split()) != " ".join(turn.answer.split()):
            parts.append((f"exactly: {turn.display}\n", (*tags, "muted")))
        for source in turn.sources:
            where = " \u00b7 ".join(str(x) for x in (source.get("file"), source.get("heading")) if x)
            parts.append((f"from {where}: \u201c{str(source.get('passage', ''))[:SOURCE_CHARS]}\u201d\n",
                          (*tags, "muted")))
        if turn.query:
            parts.append((f"query: {query_summary(turn.query)}\n", (*tags, "muted")))
        headline = turn.headline_latency()
        if headline is not None:
            arrow = "\u25be" if turn.expanded else "\u25b8"
            parts.append((f"{headline[0]:.0f} ms {headline[1]} {arrow}", (*tags, "link", f"lat-{turn.tag}")))
        else:
            parts.append(("timing\u2026", (*tags, "muted")))
        if turn.interrupted:
            parts.append(("  \u00b7  ", (*tags, "muted")))
            parts.append(("\u25a0 interrupted", (*tags, "flag")))
        if turn.fallback:
            parts.append(("  \u00b7  templated answer (the model's wording failed the fact check)", (*tags, "muted")))
        if turn.used_run_ids:
            parts.append((f"  \u00b7  runs: {', '.join(turn.used_run_ids)}", (*tags, "muted")))
        parts.append(("\n", tags))
        if turn.expanded and headline is not None:
            parts.append((turn.breakdown() + "\n", ("breakdown", "meta")))
        return parts

    def _render(self, turn: TurnView, region: str) -> None:
        tag = f"{region}-{turn.tag}"
        at_bottom = self.yview()[1] >= 1.0
        with _Editable(self):
            ranges = self.tag_ranges(tag)
            if ranges:
                start = self.index(ranges[0])
                self.delete(start, ranges[-1])
            else:
                start = "end"
            self._insert_segments(start, tag, self._segments(turn, region))
        if at_bottom:
            self.see("end")

    def _insert_segments(self, index: str, tag: str, segments: list[tuple[str, tuple[str, ...]]]) -> None:
        for text, tags in segments:
            if not text:
                continue
            self.insert(index, text, (*tags, tag))
            if index != "end":
                index = self.index(f"{index} + {len(text)} chars")


class _Editable:
    """Unlock the read-only text widget for the duration of a `with` block."""

    def __init__(self, view: ConversationView) -> None:
        self.view = view

    def __enter__(self) -> None:
        self.view.configure(state="normal")

    def __exit__(self, *exc) -> None:
        self.view.configure(state="disabled")
