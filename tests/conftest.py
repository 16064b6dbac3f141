pytest_plugins = ["tests.support.fixtures"]


import os  # noqa: E402

import pytest  # noqa: E402

# `make test` sets this: every part the suite needs is installed there, so a skip (which names the
# missing part) is a failure, not a silent pass.
NO_SKIPS_ENV = "LABVOICE_NO_SKIPS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(NO_SKIPS_ENV) == "1" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but {NO_SKIPS_ENV}=1 (make test) needs every part: {reason}"


@pytest.fixture(scope="session")
def heldout_db(tmp_path_factory):
    """A small manifests DB logged through log_run (see tests/support/heldout.py) and its rows."""
    from tests.support.heldout import build_heldout_db

    path = tmp_path_factory.mktemp("heldout-db") / "runs.db"
    return path, build_heldout_db(path)


@pytest.fixture(scope="session")
def live_config(audio_test_config, heldout_db, tmp_path_factory):
    """CPU profile on the virtual devices, the held-out DB, no index, logs in a temp folder."""
    folder = tmp_path_factory.mktemp("live")
    return audio_test_config.replace(**{"paths.db": heldout_db[0], "paths.index": folder / "index",
                                        "paths.logs": folder / "logs"})


@pytest.fixture(scope="session")
def live_stages(live_config):
    """Every CPU model loaded once for the pipeline tests."""
    from labvoice.pipeline.stages import Stages

    stages = Stages.load(live_config)
    yield stages
    stages.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "echo_path: barge-in through the echo path (virtual speaker -> mic loopback; `-m echo_path` runs only these)")
