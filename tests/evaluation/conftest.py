"""The lab suite's six producer-made DBs (issue 17), built once per session for test_lab_suite and
test_wording_not_copied (the producers run in child processes, ~20 s on 2 cores)."""
import pytest


@pytest.fixture(scope="session")
def lab_dbs(tmp_path_factory):
    from labvoice.evaluation.lab_dbs import build_lab_dbs

    return build_lab_dbs(tmp_path_factory.mktemp("lab_dbs"))
