"""The disk fills up under the conversation logs: the conversation goes on, the log later says how
many turns it lost and why, and a failed write never leaves half a line behind."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.pipeline.conftest import assert_next_turn_works, count_answer

TMPFS_SIZE = "64k"       # a tiny filesystem, filled up before the conversation starts
FILL_BLOCK = 4096
LOST_TURNS = 2
FILE_SIZE_LIMIT = 3000   # bytes a log file may grow to while "the disk is full" (partial-write test)


@dataclass
class FullDisk:
    path: Path
    how: str
    attach: Callable[[object], None]   # called with the ConversationLog once it exists
    make_room: Callable[[], None]


def _fill(path: Path) -> None:
    with open(path, "wb", buffering=0) as fh:
        while True:
            try:
                fh.write(b"\0" * FILL_BLOCK)
            except OSError as err:
                assert err.errno == errno.ENOSPC
                return


@pytest.fixture
def full_disk(tmp_path):
    """A full filesystem: a tiny tmpfs filled to the brim where mounting is allowed (root), else
    log files that are links to /dev/full (every write fails with ENOSPC)."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if mounted:
        filler = folder / "filler"
        _fill(filler)
        yield FullDisk(folder, "tmpfs", lambda log: None, filler.unlink)
        subprocess.run(["umount", str(folder)], check=True)
        return
    links: list[Path] = []

    def attach(log) -> None:
        for path in (log.jsonl_path, log.markdown_path):
            path.symlink_to("/dev/full")
            links.append(path)

    yield FullDisk(folder, "/dev/full", attach, lambda: [p.unlink() for p in links])


def test_disk_full_conversation_goes_on_and_the_log_says_what_it_lost(make_driver, heldout_rows, full_disk):
    driver = make_driver(logs=full_disk.path)
    log = driver.orch.log
    full_disk.attach(log)
    question, ids = count_answer(heldout_rows)
    for _ in range(LOST_TURNS):
        turn = driver.ask(question)
        assert turn.ended.reason == "done" and set(turn.done.used_run_ids) == ids
    assert log.lost_turns == LOST_TURNS and "space" in log.last_error.lower(), (full_disk.how, log.last_error)
    full_disk.make_room()
    assert_next_turn_works(driver, heldout_rows)
    entries = [json.loads(line) for line in log.jsonl_path.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 1 and entries[0]["lost_turns_before"] == LOST_TURNS
    markdown = log.markdown_path.read_text(encoding="utf-8")
    assert f"{LOST_TURNS} earlier turn(s) could not be logged" in markdown, markdown
    assert log.lost_turns == 0


PARTIAL_WRITE_SCRIPT = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from labvoice.pipeline.logs import ConversationLog
    from labvoice.pipeline.turns import TurnRecord

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead
    folder, limit = Path(sys.argv[1]), int(sys.argv[2])
    log = ConversationLog(folder, session="partial")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    ok = [log.write_turn(TurnRecord(1, "text", "first question", "a short answer"))]
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))      # the disk fills up mid-line
    ok.append(log.write_turn(TurnRecord(2, "text", "second question", "x" * 3 * limit)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))       # room again
    ok.append(log.write_turn(TurnRecord(3, "text", "third question", "after the disk was freed")))
    print(json.dumps(ok))
""")


def test_a_failed_log_write_leaves_no_half_line(tmp_path):
    """A write that fails part-way (the disk fills mid-line) is rolled back in both files. Run in a
    child process: its file-size limit (RLIMIT_FSIZE) is a per-process 'full disk' with partial writes."""
    folder = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-c", PARTIAL_WRITE_SCRIPT, str(folder), str(FILE_SIZE_LIMIT)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [True, False, True]
    lines = (folder / "session-partial.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]   # every line is whole JSON
    assert [e["turn_id"] for e in entries] == [1, 3]
    assert entries[1]["lost_turns_before"] == 1
    markdown = (folder / "session-partial.md").read_text(encoding="utf-8")
    assert "second question" not in markdown and "third question" in markdown
