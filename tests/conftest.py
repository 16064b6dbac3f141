"""Suite-wide fixtures (the held-out DB, the live pipeline's config and models) and plugins: the
virtual devices and session models (tests/support/fixtures.py), and the guard that fails a skip under
`make test` (tests/support/no_skips.py)."""
import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.no_skips"]


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
