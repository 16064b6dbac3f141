"""scripts/evaluate.py --query-suite end to end: builds the suite's DBs, scores parse + execute (no LLM,
cue words only here; the MiniLM path runs in tests/knowledge/query/test_suite.py), prints JSON, exit 0;
and a broken or foreign --db is one clear line with exit 2."""
from __future__ import annotations

import importlib.util
import json

from labvoice.config import PROJECT_ROOT
from tests.knowledge.conftest import demo_db, demo_run  # noqa: F401 - shared session fixtures

SCRIPT = PROJECT_ROOT / "scripts" / "evaluate.py"


def load_script():
    spec = importlib.util.spec_from_file_location("labvoice_evaluate_query_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_query_suite_json_and_thresholds(demo_db, capsys):
    rc = load_script().main(["--query-suite", "--no-embedder", "--json", "--db", str(demo_db)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and summary["passed"] is True
    assert summary["suite"]["accuracy"] >= 0.95 and summary["suite"]["invented_run_ids"] == 0
    assert set(summary["suite"]["per_shape"]) >= {"rank", "count", "group", "param_effect", "distribution", "compare"}
    assert "fresh" in summary and "heldout" in summary


def test_query_suite_bad_db(tmp_path, capsys):
    from labvoice.evaluation.suite_dbs import build_documented_db

    bad = tmp_path / "not.db"
    bad.write_text("hello")
    not_demo = build_documented_db(tmp_path / "other.db")
    for db in (bad, not_demo):
        assert load_script().main(["--query-suite", "--no-embedder", "--db", str(db)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
