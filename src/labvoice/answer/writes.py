"""The answerer's side of writes: do a write request now, or read it back and keep it pending until
the user says "yes" (or presses Confirm); take the last change back on "undo that"; every write goes
through the write journal (knowledge/journal.py), so it is recorded and can be undone after a restart.

What needs a read-back is decided in knowledge/query/writes.py (`needs_confirmation`: more than one
run, or runs not named in this turn). A read-back lives for one turn: whatever the next turn is, other
than "yes", the write is dropped ("no" / "cancel" says so). The pending write is kept in the
`Conversation`, which only the thread answering the turns touches.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Sequence

from labvoice.knowledge.errors import WriteError
from labvoice.knowledge.journal import Batch, WriteJournal
from labvoice.knowledge.notes import FLAG_ACTION, change_for
from labvoice.knowledge.query.model import Fact, FlagRequest
from labvoice.knowledge.query.writes import is_cancel, is_confirmation, is_undo, is_write_talk, needs_confirmation

log = logging.getLogger(__name__)

MAX_SAID = 5          # runs named aloud in a read-back; the rest are counted
Outcome = Literal["pending", "done", "unchanged", "undone", "cancelled", "refused", "declined"]
HOW_TO_ASK = ("No change made: I change runs only when you ask outright, for example \"flag it for publishing\", "
              "\"unflag those two\" or \"undo that\". Flagging puts PUBLISH in front of a run's note; "
              "unflagging takes exactly that off.")
HOW_TO_ASK_SPOKEN = ("I changed nothing. I only change a run when you ask me outright, like: flag it for publishing. "
                     "Flagging puts publish in front of the run's note, and unflagging takes it off again.")


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write read back and waiting for "yes": the runs (ids, as said, as shown) and the request's words."""

    action: str
    run_ids: tuple[str, ...]
    said: tuple[str, ...]
    shown: tuple[str, ...]
    words: str


@dataclass(frozen=True, slots=True)
class WriteReply:
    """What a write turn answers: `display` for the window (ids), `spoken` for the voice; `outcome`
    says what happened (the window enables Confirm on "pending"); `error_code` a WriteError's code."""

    display: str
    spoken: str
    outcome: Outcome
    run_ids: tuple[str, ...] = ()
    pending: PendingWrite | None = None
    error_code: str | None = None

    def as_fact(self) -> dict:
        return {"kind": f"write_{self.outcome}", "text": self.display, "spoken": self.spoken,
                "run_ids": list(self.run_ids)}


def _listed(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) > MAX_SAID:
        items = items[:MAX_SAID] + [f"{len(items) - MAX_SAID} more"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


class WriteDesk:
    """Performs, reads back, confirms and undoes writes on one manifests DB."""

    def __init__(self, journal: WriteJournal) -> None:
        self.journal = journal

    def before_parsing(self, question: str, pending: PendingWrite | None) -> WriteReply | None:
        """The reply to a turn that answers a read-back ("yes", "no"), undoes ("undo that") or talks about
        a write without asking for one ("should I flag it?"), else None (the turn is parsed as usual, and
        a pending write is dropped)."""
        if pending is not None and is_confirmation(question):
            return self._write(pending, f"{pending.words} | confirmed: {question}")
        if is_undo(question):
            return self.undo(question)
        if pending is not None and is_cancel(question):
            return WriteReply("Cancelled: nothing was changed.", "Okay, I changed nothing.", "cancelled")
        if is_write_talk(question):
            return WriteReply(HOW_TO_ASK, HOW_TO_ASK_SPOKEN, "declined")
        return None

    def request(self, question: str, query: FlagRequest, facts: Sequence[Fact]) -> WriteReply:
        """A parsed write request: done at once when it names one run in this turn, else read back."""
        runs = [f for f in facts if f.action]
        action = runs[0].action[0]
        pending = PendingWrite(action, tuple(f.action[1] for f in runs), tuple(f.spoken for f in runs),
                               tuple(f.display for f in runs), question)
        if not needs_confirmation(query, len(runs)):
            return self._write(pending, question)
        verb = "Flag" if action == FLAG_ACTION else "Unflag"
        purpose = "for publishing" if action == FLAG_ACTION else "from publishing"
        n = len(runs)
        said = (f"{verb} these {n} runs {purpose}: {_listed(pending.said)}?" if n > 1
                else f"{verb} {pending.said[0]} {purpose}?")
        shown = f"{verb} {_runs(n)} {purpose}: {', '.join(pending.shown)}?"
        return WriteReply(f"{shown} Say yes (or press Confirm) to do it.", f"{said} Say yes to confirm.",
                          "pending", pending.run_ids, pending)

    def _write(self, pending: PendingWrite, words: str) -> WriteReply:
        try:
            batch = self.journal.apply({rid: change_for(pending.action) for rid in pending.run_ids},
                                       "flag" if pending.action == FLAG_ACTION else "unflag", words)
        except WriteError as err:
            log.warning("write refused (%s): %s", err.code, err)
            return WriteReply(f"Nothing was changed: {err}", "Sorry, I could not change that; nothing was changed.",
                              "refused", pending.run_ids, error_code=err.code)
        return self._written(pending, batch)

    @staticmethod
    def _written(pending: PendingWrite, batch: Batch) -> WriteReply:
        flag = pending.action == FLAG_ACTION
        state = "flagged for publishing" if flag else "not flagged"
        said = dict(zip(pending.run_ids, pending.said))
        shown = dict(zip(pending.run_ids, pending.shown))
        if not batch.changes:
            who = said[pending.run_ids[0]] if len(pending.run_ids) == 1 else f"all {len(pending.run_ids)} runs"
            return WriteReply(f"No change: {', '.join(shown.values())} already {state}.",
                              f"Nothing to change: {who} {'is' if len(pending.run_ids) == 1 else 'are'} already "
                              f"{state}.", "unchanged", pending.run_ids)
        done = [c.run_id for c in batch.changes]
        verb = "Flagged" if flag else "Unflagged"
        purpose = "for publishing" if flag else "from publishing"
        rest = len(pending.run_ids) - len(done)
        extra = f" ({rest} already {state})" if rest else ""
        return WriteReply(f"{verb} {_runs(len(done))} {purpose}: {', '.join(shown[r] for r in done)}{extra}. "
                          f"Change #{batch.batch} is in the record; say undo that (or press Undo) to take it back.",
                          f"{verb} {_listed([said[r] for r in done])} {purpose}{extra}. Say undo that to take it back.",
                          "done", tuple(done))

    def undo(self, question: str) -> WriteReply:
        """Put back what the last change not yet undone found."""
        try:
            batch = self.journal.undo_last(question)
        except WriteError as err:
            if err.code == "nothing_to_undo":
                return WriteReply("There is no change to undo.", "There is no change of mine to undo.",
                                  "refused", error_code=err.code)
            log.warning("undo refused (%s): %s", err.code, err)
            return WriteReply(f"Nothing was undone: {err}", "I can't undo that: the note was changed since, "
                              "so I left it as it is.", "refused", error_code=err.code)
        ids = batch.run_ids
        return WriteReply(f"Undid change #{batch.undoes}: the note of {', '.join(ids)} is back to what it was.",
                          f"Undone: the note of {_runs(len(ids)).replace('1 run', 'that run')} is back to what it was.",
                          "undone", ids)


__all__ = ["PendingWrite", "WriteDesk", "WriteReply", "is_cancel", "is_confirmation", "is_undo"]
