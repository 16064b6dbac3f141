"""The skip guard (tests/support/no_skips.py) is real: under LABVOICE_NO_SKIPS=1 (what `make test`
sets) a skip fails the run, whether a test skips while it runs or a whole module skips while it is
collected (a module-level `pytest.importorskip`). Each case runs pytest in a subprocess on a tiny
test file, with only the guard plugin loaded."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.no_skips import NO_SKIPS_ENV

REPO = Path(__file__).resolve().parents[1]
SKIPPING = {
    "module_importorskip": 'import pytest\n\npytest.importorskip("labvoice_no_such_module")\n\n\n'
                           'def test_never_collected():\n    assert False\n',
    "skip_in_a_test": 'import pytest\n\n\ndef test_skips():\n    pytest.skip("a part is missing")\n',
}


def _run_pytest(test_file: Path, no_skips: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != NO_SKIPS_ENV}
    if no_skips:
        env[NO_SKIPS_ENV] = "1"
    (test_file.parent / "pytest.ini").write_text("[pytest]\n")   # none of the repo's own options
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "tests.support.no_skips", str(test_file)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", sorted(SKIPPING))
def test_a_skip_fails_the_run_under_no_skips(tmp_path, kind):
    test_file = tmp_path / f"test_{kind}.py"
    test_file.write_text(SKIPPING[kind])
    guarded = _run_pytest(test_file, no_skips=True)
    # A failed test (1) or a collection error (2, "Interrupted"): either way `make test` is red.
    assert guarded.returncode in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED), guarded.stdout
    assert f"skipped, but {NO_SKIPS_ENV}=1" in guarded.stdout
    assert "labvoice_no_such_module" in guarded.stdout or "a part is missing" in guarded.stdout
    plain = _run_pytest(test_file, no_skips=False)
    # Without the guard the same file merely skips (a module skip leaves no test: exit 5, not a failure).
    assert plain.returncode in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), plain.stdout
    assert "1 skipped" in plain.stdout
