"""Scripts stay thin and stand on the package alone: nothing under scripts/ imports from `tests`
(what benches share with tests lives in labvoice.benchmarks), nor loads a file of tests/ by path."""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROM_TESTS = re.compile(r"^\s*(from\s+tests(\.|\s)|import\s+tests\b)", re.M)
TESTS_BY_PATH = re.compile(r"""["']tests["']\s*/|["']tests/""")


def _scripts() -> list[Path]:
    """The committed scripts (a colleague's uncommitted file is not the clean clone's)."""
    listed = subprocess.run(["git", "ls-files", "scripts"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:   # not a checkout: every script there is
        return sorted((ROOT / "scripts").glob("*.py"))
    return [ROOT / name for name in listed.stdout.split() if name.endswith(".py")]


def _imports_tests(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "tests":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tests" for a in node.names):
            return True
    return False


def test_the_checks_see_an_import_from_tests():
    assert _imports_tests("def f():\n    from tests.support.pulse import x\n")
    assert _imports_tests("import tests.support")
    assert FROM_TESTS.search("    from tests.support import x")
    assert TESTS_BY_PATH.search('PROJECT_ROOT / "tests" / "support" / "pulse.py"')
    assert not _imports_tests("from labvoice.benchmarks.pulse import start_virtual_audio")


def test_no_script_imports_from_tests():
    scripts = _scripts()
    assert len(scripts) >= 5
    offenders = []
    for path in scripts:
        source = path.read_text(encoding="utf-8")
        if _imports_tests(source) or FROM_TESTS.search(source) or TESTS_BY_PATH.search(source):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == [], f"scripts that reach into tests/: {offenders}"
