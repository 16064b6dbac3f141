"""The "a skip fails `make test`" guard, as a pytest plugin (registered by tests/conftest.py).

`make test` sets LABVOICE_NO_SKIPS=1: every part the suite needs is installed there, so a skip
(which names the missing part) is a failure, not a silent pass. Both kinds of skip are caught: a
test that skips while it runs (its report), and a module that skips while it is collected (a
module-level `pytest.importorskip`, whose report is a collection report, not a test's).
"""
from __future__ import annotations

import os

import pytest

NO_SKIPS_ENV = "LABVOICE_NO_SKIPS"


def _no_skips() -> bool:
    return os.environ.get(NO_SKIPS_ENV) == "1"


def _fail_the_skip(report) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, but {NO_SKIPS_ENV}=1 (make test) needs every part: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # An expected failure (xfail) is reported as skipped; it is not a missing part.
    if report.skipped and _no_skips() and "wasxfail" not in report.__dict__:
        _fail_the_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _no_skips():
        _fail_the_skip(report)
