"""Cards: summaries per dataset and model kind, one card per noted run (not one per run: facts come
from SQL), documents chunked on paragraphs; bad files are skipped."""
from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from labvoice.knowledge.cards import Chunking, chunk_text, document_cards, run_card, run_cards
from labvoice.knowledge.store import ManifestStore

from labvoice.benchmarks.demo_inputs import make_pdf

from .conftest import KB_DIR


def test_only_runs_with_a_note_have_a_card_and_it_names_the_run_and_the_note(demo_db):
    runs = ManifestStore(demo_db).runs()
    noted = [r for r in runs if r.note.strip()]
    assert noted and len(noted) < len(runs)
    for run in noted:
        card = run_card(run)
        assert card.source == "run" and card.run_ids == (run.run_id,) and card.key == f"run:{run.run_id}"
        for fact in (run.run_id, run.dataset_id, run.model_kind, run.note.strip(), run.timestamp[:10]):
            assert fact in card.text
        assert run.run_id not in card.text_to_embed and run.note.strip() in card.text_to_embed
    assert all(run_card(r) is None for r in runs if not r.note.strip())


def test_the_runs_give_one_summary_per_dataset_and_model_kind_plus_their_notes(demo_db):
    runs = ManifestStore(demo_db).runs()
    cards = run_cards(runs)
    summaries = {c.key: c for c in cards if c.source == "summary"}
    datasets = {r.dataset_id for r in runs}
    kinds = {r.model_kind for r in runs}
    assert set(summaries) == {f"summary:dataset:{d}" for d in datasets} | {f"summary:model:{k}" for k in kinds}
    assert sorted(c.run_ids[0] for c in cards if c.source == "run") == sorted(r.run_id for r in runs if r.note.strip())
    digits = summaries["summary:dataset:digits"].text
    for name in {r.model_kind for r in runs if r.dataset_id == "digits"} | {"seed", "val_accuracy"}:
        assert name in digits
    assert re.search(r"\b\d", digits) is None   # no counts or values: they change with every run
    again = run_cards(ManifestStore(demo_db).runs())
    assert [c.fingerprint for c in again] == [c.fingerprint for c in cards]
    assert len({c.key for c in cards}) == len(cards)


def test_runs_with_the_same_note_share_one_vector_but_not_one_card(demo_db):
    run = next(r for r in ManifestStore(demo_db).runs() if r.note.strip())
    twin = dataclasses.replace(run, run_id="twin0001", timestamp="2030-01-01T00:00:00.000000+00:00")
    other = dataclasses.replace(run, note="loss went to NaN at epoch 3")
    a, b, c = run_card(run), run_card(twin), run_card(other)
    assert a.vector_id == b.vector_id and a.fingerprint != b.fingerprint and a.key != b.key
    assert c.vector_id != a.vector_id


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
