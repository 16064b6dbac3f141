"""Shared, expensive real things for the knowledge tests: the config, the embedder, a demo DB and index.

`demo_db` (session) trains the quick demo grid of examples/train_demo.py once into a temporary
folder and returns the DB path; `embedder` (session) loads the bundled MiniLM once. Other test
packages can reuse them with `from tests.knowledge.conftest import demo_db, embedder, config`.
Tests that write to the DB or the index use the `*_copy` fixtures, never the session originals.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labvoice.benchmarks.demo_inputs import TRAIN_DEMO, load_train_demo, make_pdf  # noqa: F401 - re-exported
from labvoice.config import PROJECT_ROOT, Config, load_config
from labvoice.knowledge.store import copy_db  # noqa: F401 - also re-exported for other tests
from labvoice.hardware import apply_thread_budget
from labvoice.knowledge.cards import Chunking
from labvoice.knowledge.embedder import Embedder
from labvoice.knowledge.index import build

KB_DIR = PROJECT_ROOT / "knowledge_base"


@pytest.fixture(scope="session")
def config() -> Config:
    cfg = load_config()
    apply_thread_budget(cfg.threads)
    return cfg


@pytest.fixture(scope="session")
def chunking(config: Config) -> Chunking:
    return Chunking.from_config(config.knowledge)


@pytest.fixture(scope="session")
def embedder(config: Config) -> Embedder:
    return Embedder.from_config(config)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The DemoReport of the quick demo grid, trained once per session (DB in a temp folder)."""
    folder = tmp_path_factory.mktemp("demo")
    report = load_train_demo().run_demo(folder / "runs.db", folder / "artifacts", quick=True, progress=False)
    return folder / "runs.db", report


@pytest.fixture(scope="session")
def demo_db(demo_run) -> Path:
    """Path of a manifests DB holding the quick demo runs (notes included). Do not write to it."""
    return demo_run[0]


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory, demo_db: Path, embedder: Embedder, chunking: Chunking) -> Path:
    """An index of the demo DB and the shipped knowledge_base/, built once. Do not write to it."""
    index_dir = tmp_path_factory.mktemp("demo_index") / "index"
    build(demo_db, KB_DIR, index_dir, embedder, chunking=chunking, progress=False)
    return index_dir


@pytest.fixture
def demo_db_copy(tmp_path: Path, demo_db: Path) -> Path:
    return copy_db(demo_db, tmp_path / "runs.db")


@pytest.fixture
def demo_index_copy(tmp_path: Path, demo_index: Path) -> Path:
    return Path(shutil.copytree(demo_index, tmp_path / "index"))
