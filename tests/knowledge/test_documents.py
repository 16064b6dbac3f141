"""Documents a lab really has (knowledge/documents.py, cards.py): Markdown, text, reStructuredText
(scikit-learn's own dataset descriptions), PDF and notebooks' markdown cells are read into sections
that keep their heading; the index re-embeds only the file that changed."""
from __future__ import annotations

import json
from pathlib import Path

import sklearn

from labvoice.knowledge.cards import document_cards
from labvoice.knowledge.documents import DocumentError, read_sections
from labvoice.knowledge.index import KnowledgeIndex, build
from labvoice.benchmarks.demo_inputs import make_pdf

DESCR = Path(sklearn.__file__).parent / "datasets" / "descr"


def test_restructured_text_keeps_titles_and_fields_and_drops_markup():
    sections = read_sections(DESCR / "iris.rst")
    assert sections[0].heading == "Iris plants dataset"
    text = " ".join(s.text for s in sections)
    assert "Number of Instances: 150 (50 in each of three classes)." in text
    assert "Creator: R.A. Fisher." in text
    assert ".. _iris_dataset" not in text and "**" not in text and ":Creator:" not in text


def test_markdown_headings_and_fenced_code(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("# Guide\n\nIntro line.\n\n## Early stopping\n\nStop after 5 epochs without gain.\n"
                    "```python\n# not a heading\nx = 1\n```\n")
    sections = read_sections(path)
    assert [(s.heading, s.text) for s in sections] == [("Guide", "Intro line."),
                                                       ("Early stopping", "Stop after 5 epochs without gain.")]


def test_a_notebook_gives_its_markdown_cells_only(tmp_path):
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# Sweep notes\n", "\n", "We sweep alpha on a log grid."]},
                          {"cell_type": "code", "source": ["secret_code = 42"], "outputs": []},
                          {"cell_type": "markdown", "source": "## Findings\n\nAlpha 1e-4 was best."}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "sweep.ipynb"
    path.write_text(json.dumps(notebook))
    sections = read_sections(path)
    assert [s.heading for s in sections] == ["Sweep notes", "Findings"]
    assert "secret_code" not in " ".join(s.text for s in sections)
    (tmp_path / "broken.ipynb").write_text("{not json")
    try:
        read_sections(tmp_path / "broken.ipynb")
    except DocumentError as err:
        assert "broken.ipynb" in str(err) and err.code == "document_unreadable"
    else:
        raise AssertionError("a broken notebook must raise DocumentError")


def test_a_pdf_is_read_with_its_headings(tmp_path):
    (tmp_path / "handbook.pdf").write_bytes(make_pdf(["GPU booking", "", "Book the shared GPU a day ahead.", "",
                                                      "Checkpoints", "", "Keep the last three checkpoints."]))
    sections = read_sections(tmp_path / "handbook.pdf")
    assert [s.heading for s in sections] == ["GPU booking", "Checkpoints"]
    assert sections[1].text == "Keep the last three checkpoints."


def test_every_chunk_keeps_its_file_and_heading(chunking):
    docs = document_cards(DESCR, chunking)
    wine = [c for c in docs.cards if c.path == "wine_data.rst"]
    assert wine and all(c.heading for c in wine)
    assert wine[0].text.startswith("From wine_data.rst, Wine recognition dataset:")


def test_a_changed_file_is_re_embedded_alone(tmp_path, demo_db, embedder, chunking):
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("iris.rst", "wine_data.rst", "digits.rst"):
        (kb / name).write_text((DESCR / name).read_text())
    first = build(demo_db, kb, tmp_path / "index", embedder, chunking=chunking, progress=False)
    assert first.documents == 3 and first.doc_chunks >= 3
    (kb / "notes.md").write_text("# Seeds\n\nWe always report three seeds.\n")
    second = build(demo_db, kb, tmp_path / "index", embedder, chunking=chunking, progress=False)
    assert second.embedded == 1 and second.reused == first.embedded
    index = KnowledgeIndex.load(tmp_path / "index", embedder)
    hits = [p for p in index.search("how many seeds do we report", 3) if p.path == "notes.md"]
    assert hits and hits[0].heading == "Seeds"
