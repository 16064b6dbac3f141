"""Shared, expensive real things for the knowledge tests: the config, the embedder, a demo DB and index.

`demo_db` (session) trains the quick demo grid of examples/train_demo.py once into a temporary
folder and returns the DB path; `embedder` (session) loads the bundled MiniLM once. Other test
packages can reuse them with `from tests.knowledge.conftest import demo_db, embedder, config`.
Tests that write to the DB or the index use the `*_copy` fixtures, never the session originals.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from labvoice.config import PROJECT_ROOT, Config, load_config
from labvoice.knowledge.store import copy_db  # noqa: F401 - also re-exported for other tests
from labvoice.hardware import apply_thread_budget
from labvoice.knowledge.cards import Chunking
from labvoice.knowledge.embedder import Embedder
from labvoice.knowledge.index import build

KB_DIR = PROJECT_ROOT / "knowledge_base"
TRAIN_DEMO = PROJECT_ROOT / "examples" / "train_demo.py"


def load_train_demo() -> ModuleType:
    """examples/train_demo.py as a module (examples/ is not a package)."""
    name = "labvoice_train_demo"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TRAIN_DEMO)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module



def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing `lines` in Helvetica (no PDF library needed)."""
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 11 Tf", "72 720 Td", "14 TL"] + [f"({escape(line)}) Tj T*" for line in lines] + ["ET"]
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


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
