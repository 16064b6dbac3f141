"""Conversation logs: a readable Markdown transcript and a JSONL file per session, under logs/.

Each turn is appended and flushed (and fsynced) as soon as it ends, so a crash loses at most the
turn in flight. A failing disk never stops the conversation: the log counts what it could not
write and says so in the next line it manages to write. A write that fails part-way (the disk
filled mid-line) is cut back off both files, so a turn is in both or in neither and every JSONL
line stays whole.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from labvoice.pipeline.turns import TurnRecord

log = logging.getLogger(__name__)


class ConversationLog:
    def __init__(self, folder: Path, session: str | None = None) -> None:
        self.folder = Path(folder)
        session = session or datetime.now().strftime("%Y%m%d-%H%M%S")
        self.markdown_path = self.folder / f"session-{session}.md"
        self.jsonl_path = self.folder / f"session-{session}.jsonl"
        self.lost_turns = 0
        self.last_error = ""
        self._header_written = False

    def _append(self, path: Path, text: str) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    def _roll_back(self, sizes: dict[Path, int]) -> None:
        """Cut off what a failed write left behind (truncating needs no free space)."""
        for path, size in sizes.items():
            try:
                if self._size(path) > size:
                    os.truncate(path, size)
            except OSError as err:
                log.warning("conversation log: could not cut a partial write off %s (%s)", path, err)

    def write_turn(self, record: TurnRecord) -> bool:
        """Append one turn to both files; False (and counted) when the disk refused."""
        stamp = datetime.now().isoformat(timespec="seconds")
        entry = {"time": stamp, **asdict(record)}
        if self.lost_turns:
            entry["lost_turns_before"] = self.lost_turns
        lines = []
        if not self._header_written:
            lines.append(f"# labvoice conversation, {stamp}\n\n")
        who = "You (typed)" if record.source == "text" else "You"
        lines.append(f"**{who}:** {record.transcript}\n\n")
        flag = " _(interrupted)_" if record.interrupted else ""
        lines.append(f"**labvoice:** {record.answer}{flag}\n\n")
        details = []
        if record.used_run_ids:
            details.append("runs " + ", ".join(record.used_run_ids))
        if "first_audio" in record.latency_ms:
            details.append(f"first audio {record.latency_ms['first_audio']:.0f} ms")
        if record.errors:
            details.append("errors: " + "; ".join(record.errors))
        if self.lost_turns:
            details.append(f"{self.lost_turns} earlier turn(s) could not be logged ({self.last_error})")
        if details:
            lines.append(f"<sub>{' · '.join(details)}</sub>\n\n")
        sizes = {path: self._size(path) for path in (self.jsonl_path, self.markdown_path)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._append(self.jsonl_path, json.dumps(entry) + "\n")
            self._append(self.markdown_path, "".join(lines))
        except OSError as err:
            self._roll_back(sizes)
            self.lost_turns += 1
            self.last_error = err.strerror or str(err)
            log.warning("conversation log: could not write turn %d (%s)", record.turn_id, self.last_error)
            return False
        self._header_written = True
        self.lost_turns = 0
        return True


def now_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
