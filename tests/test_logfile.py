"""Logs a person can find: the rotating log file, `--log-level`, and `labvoice index` writing to both."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from labvoice.logfile import BACKUPS, MAX_BYTES, setup_logging

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_setup_twice_keeps_one_rotating_file_and_changes_its_level(root_logger, tmp_path):
    log_file = tmp_path / "logs" / "labvoice.log"
    assert setup_logging("WARNING", "INFO", log_file) == log_file
    assert setup_logging("WARNING", "DEBUG", log_file) == log_file
    files = [h for h in root_logger.handlers if isinstance(h, RotatingFileHandler)]
    assert len(files) == 1
    assert files[0].maxBytes == MAX_BYTES and files[0].backupCount == BACKUPS
    assert sum(1 for h in root_logger.handlers if h.get_name() == "labvoice-stderr") == 1
    logging.getLogger("labvoice.test").debug("a debug line for the file")
    files[0].flush()
    assert "a debug line for the file" in log_file.read_text()


def test_an_unwritable_log_folder_is_one_warning_not_a_failure(root_logger, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert setup_logging("WARNING", "INFO", blocker / "labvoice.log") is None
    err = capsys.readouterr().err
    assert "cannot write the log file" in err and "LABVOICE_LOG_DIR" in err
    assert not any(isinstance(h, RotatingFileHandler) for h in root_logger.handlers)


def test_index_command_builds_and_logs_at_the_level_asked(tmp_path, heldout_db):
    log_dir = tmp_path / "logs"
    env = {**os.environ, "LABVOICE_LOG_DIR": str(log_dir)}
    done = subprocess.run([sys.executable, "-m", "labvoice", "--log-level", "debug", "index", "--db",
                           str(heldout_db[0]), "--kb", str(ROOT / "knowledge_base"), "--index",
                           str(tmp_path / "index"), "--no-progress"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("index ") and "documents" in done.stdout
    assert (tmp_path / "index").is_dir()
    logged = (log_dir / "labvoice.log").read_text()
    assert " DEBUG " in logged
