"""No `getattr(` / `hasattr(` probes on the package's own typed values: a field the type declares is
read as a field, a kind of value is told by `isinstance`, an optional part is `None` or not. What
remains is on the allow-list below, each with why: third-party objects whose shape varies by
version, argparse namespaces, and lookups of a name chosen on purpose (a method named by an action,
a class named in a table). A new probe fails here until it is removed or justified."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = re.compile(r"\b(getattr|hasattr)\(")

# (path under src/labvoice, text on the line) -> why the probe is fine there
ALLOWED = {
    ("backends.py", "return getattr(module, cls_name)"): "a backend class named in the backends table",
    ("knowledge/importers/__init__.py", "return getattr(module, cls_name)(**options)"):
        "an importer class named in the importers table",
    ("cli.py", 'getattr(args, "db", None)'): "argparse Namespace: not every subcommand has --db",
    ("cli.py", 'getattr(args, "index", None)'): "argparse Namespace: not every subcommand has --index",
    ("cli.py", 'getattr(args, "kb", None)'): "argparse Namespace: not every subcommand has --kb",
    ("cli.py", 'getattr(args, "log_level", None)'): "argparse Namespace: not every subcommand has --log-level",
    ("cli.py", 'getattr(args, "func", None)'): "argparse Namespace: no func when no subcommand was given",
    ("config.py", 'getattr(err, "problem_mark", None)'): "PyYAML: only its marked errors carry a position",
    ("evaluation/soak.py", "getattr(self, action)()"): "the soak's step, a method named by the action drawn",
    ("evaluation/stress.py", "getattr(self, action)()"): "the stress test's step, a method named by the action drawn",
    ("gui/errors.py", "getattr(sys.modules[module], name)"): "error classes named in a table, of modules imported",
    ("gui/errors.py", "hasattr(sys.modules[module], name)"): "error classes named in a table, of modules imported",
    ("gui/session.py", "getattr(self.orchestrator, method)"): "the window's command, an orchestrator method by name",
    ("gui/tasks.py", 'getattr(job.fn, "__name__", job.fn)'): "any callable (a functools.partial has no __name__)",
    ("knowledge/embedder.py", 'getattr(self._model, "get_embedding_dimension", None)'):
        "sentence-transformers renamed the method between versions",
    ("knowledge/importers/mlflow_runs.py", 'getattr(run, "inputs", None)'): "MLflow: older servers' runs have no inputs",
    ("knowledge/importers/mlflow_runs.py", 'getattr(inputs, "dataset_inputs", None)'):
        "MLflow: older servers' runs have no dataset inputs",
    ("knowledge/log_run.py", 'if hasattr(value, "item") and callable(value.item):  # numpy scalars'):
        "a user's training function may return numpy or torch scalars",
    ("knowledge/log_run.py", 'if hasattr(value, "item") and callable(value.item) and not isinstance'):
        "a user's training function may return numpy or torch scalars",
    ("knowledge/log_run.py", 'getattr(fn, "__qualname__", repr(fn))'): "the user's decorated callable, of any kind",
    ("knowledge/query/execute.py", 'getattr(self, f"_{parsed.shape}")(parsed, now)'): "one method per query shape, by name",
    ("llm/llama_cpp.py", 'getattr(chunks, "close", None)'): "llama-cpp-python's stream: a generator or a list",
    ("llm/llama_cpp.py", 'getattr(llm, "close", None)'): "llama-cpp-python's Llama: close() only in newer versions",
    ("llm/openai_compat.py", 'getattr(err, "message", "")'): "the openai client's errors: only API errors carry one",
    ("style.py", "value = getattr(self, name)"): "the dataclass's own fields, iterated by name",
    ("tts/csm.py", 'getattr(processor, "chat_template", None)'): "transformers: a processor may have no chat template",
}


def probes() -> list[tuple[str, int, str]]:
    """(path under src/labvoice, line number, line) of every getattr( / hasattr( in committed code."""
    done = subprocess.run(["git", "ls-files", "src/labvoice"], cwd=ROOT, capture_output=True, text=True)
    listed = done.stdout.split() if done.returncode == 0 else \
        [p.relative_to(ROOT).as_posix() for p in (ROOT / "src" / "labvoice").rglob("*.py")]   # not a checkout
    found = []
    for name in listed:
        if not name.endswith(".py"):
            continue
        rel = name.removeprefix("src/labvoice/")
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            if PROBE.search(line):
                found.append((rel, number, line.strip()))
    return found


def _allowed(rel: str, line: str) -> tuple[str, str] | None:
    return next((key for key in ALLOWED if key[0] == rel and key[1] in line), None)


def test_the_probe_pattern_sees_both_kinds():
    assert PROBE.search('x = getattr(result, "claims", ())') and PROBE.search("if hasattr(q, 'kind'):")
    assert not PROBE.search("self.getattribute_like(x)") and not PROBE.search("# no probes here")


def test_no_probes_on_our_own_typed_values():
    found = probes()
    unexplained = [f"src/labvoice/{rel}:{number}: {line}" for rel, number, line in found if _allowed(rel, line) is None]
    assert unexplained == [], "getattr/hasattr on the package's own values (read the field, or isinstance):\n" + \
        "\n".join(unexplained)


def test_every_allowed_probe_still_exists():
    used = {_allowed(rel, line) for rel, _, line in probes()}
    stale = [key for key in ALLOWED if key not in used]
    assert stale == [], f"allow-list entries whose probe is gone (remove them): {stale}"
