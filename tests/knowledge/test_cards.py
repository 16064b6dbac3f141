"""Run cards carry every fact of a run; documents are chunked on paragraphs; bad files are skipped."""
from __future__ import annotations

import logging

import pytest

from labvoice.knowledge.cards import Chunking, chunk_text, document_cards, run_card, run_cards
from labvoice.knowledge.store import ManifestStore

from .conftest import KB_DIR, make_pdf


def test_a_run_card_names_everything_about_the_run(demo_db):
    runs = ManifestStore(demo_db).runs()
    published = next(r for r in runs if r.note == "PUBLISH")
    card = run_card(published)
    assert card.source == "run" and card.run_ids == (published.run_id,) and card.key == f"run:{published.run_id}"
    text = card.text
    for fact in (published.run_id, published.dataset_id, published.params["model"], "Note: PUBLISH",
                 f"seed={published.params['seed']}", f"epochs={published.params['epochs']}",
                 published.command):
        assert fact in text
    for metric, value in published.metrics.items():
        assert f"{metric}={value:.4g}" in text
    assert "dataset=" not in text and "model=" not in text   # shown once, in the first line


def test_card_fingerprints_follow_the_text(demo_db):
    runs = ManifestStore(demo_db).runs()
    cards = run_cards(runs)
    assert len({c.fingerprint for c in cards}) == len(runs)
    again = run_cards(ManifestStore(demo_db).runs())
    assert [c.fingerprint for c in again] == [c.fingerprint for c in cards]


def _paragraphs(count: int, words: int) -> list[str]:
    return [" ".join(f"p{p}w{w}" for w in range(words)) + "." for p in range(count)]


def test_chunks_respect_the_size_and_keep_short_paragraphs_whole():
    chunking = Chunking(chars=300, overlap=60)
    paragraphs = _paragraphs(12, 8)
    chunks = chunk_text("\n\n".join(paragraphs), chunking)
    assert len(chunks) > 1
    assert all(len(c) <= chunking.chars for c in chunks)
    for para in paragraphs:
        assert any(para in chunk for chunk in chunks)


def test_each_chunk_starts_with_the_tail_of_the_previous_one():
    chunking = Chunking(chars=300, overlap=60)
    chunks = chunk_text("\n\n".join(_paragraphs(12, 8)), chunking)
    assert len(chunks) > 1
    for previous, current in zip(chunks, chunks[1:]):
        shared = max(n for n in range(chunking.overlap + 1) if current.startswith(previous[len(previous) - n:]))
        assert chunking.overlap // 2 <= shared <= chunking.overlap   # cut at a word boundary


def test_a_paragraph_longer_than_a_chunk_is_cut_at_sentence_ends():
    chunking = Chunking(chars=200, overlap=0)
    sentences = [f"Sentence number {i} talks about learning rates." for i in range(20)]
    chunks = chunk_text(" ".join(sentences), chunking)
    assert len(chunks) > 1 and all(len(c) <= chunking.chars for c in chunks)
    assert all(c.rstrip().endswith(".") for c in chunks)
    assert " ".join(chunks).count("Sentence number") == len(sentences)


def test_overlap_must_be_smaller_than_the_chunk():
    with pytest.raises(ValueError, match="chunk_overlap"):
        Chunking(chars=200, overlap=200)


def test_documents_of_every_kind_are_read_and_bad_ones_skipped(tmp_path, caplog, chunking):
    (tmp_path / "protocol.md").write_text("# Protocol\n\nUse a fixed validation split.\n")
    (tmp_path / "notes.txt").write_text("Iris has 150 flowers.\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "report.pdf").write_bytes(make_pdf(["Quarterly report: the MLP won on digits.",
                                                            "Second line (with parentheses)."]))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ngarbage")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / ".hidden.md").write_text("secret")
    with caplog.at_level(logging.WARNING, logger="labvoice.knowledge.cards"):
        docs = document_cards(tmp_path, chunking)
    assert sorted({c.path for c in docs.cards}) == ["notes.txt", "protocol.md", "sub/report.pdf"]
    pdf_text = " ".join(c.text for c in docs.cards if c.path == "sub/report.pdf")
    assert "the MLP won on digits" in pdf_text and "(with parentheses)" in pdf_text
    assert len(docs.skipped) == 2
    assert any("broken.pdf" in line for line in docs.skipped)
    assert any("binary.txt" in line for line in docs.skipped)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "broken.pdf" in warned and "binary.txt" in warned
    assert set(docs.file_fingerprints) == {"notes.txt", "protocol.md", "sub/report.pdf", "broken.pdf",
                                           "binary.txt"}
    assert all(c.source == "doc" and c.run_ids == () for c in docs.cards)


def test_the_shipped_knowledge_base_reads_cleanly(chunking):
    docs = document_cards(KB_DIR, chunking)
    assert docs.skipped == ()
    assert {c.path for c in docs.cards} == {p.name for p in KB_DIR.iterdir() if p.suffix in (".md", ".txt")}
    assert len(docs.file_fingerprints) >= 3
