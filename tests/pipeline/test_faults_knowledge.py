"""Knowledge faults while the assistant runs: the index is missing or corrupt (answers come from the
SQL facts, with a warning, and a rebuild is picked up live), and a training job writes to the
manifests DB while questions are answered (reads still succeed)."""
from __future__ import annotations

import json
import random
import threading

from labvoice.config import PROJECT_ROOT
from labvoice.knowledge.cards import Chunking
from labvoice.knowledge.index import VECTORS, build
from labvoice.knowledge.log_run import log_run
from labvoice.knowledge.store import connect_rw
from labvoice.knowledge.versioned_dir import current_version

from tests.pipeline.conftest import assert_next_turn_works, count_answer
from tests.pipeline.faults import FailingChat

QUESTION = "Which run had the best validation accuracy on mnist?"
# A question about the documents: only its answer puts index passages (NOTES) in the LLM prompt.
DOC_QUESTION = "What does the evaluation protocol say about splits?"
KB_DIR = PROJECT_ROOT / "knowledge_base"
WRITER_HOLDS_LOCK_S = 3.0
NEW_MLP_RUNS = 3


def _best_mnist(rows) -> str:
    return max((r for r in rows if r["dataset"] == "mnist"), key=lambda r: r["val_acc"])["run_id"]


def _logged_warnings(driver) -> list[list[str]]:
    """The warnings of each logged turn, oldest first (from the conversation's JSONL log)."""
    lines = driver.orch.log.jsonl_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["warnings"] for line in lines]


def _index_warning(warnings: list[str]) -> bool:
    return any("knowledge index" in w and "build_index" in w for w in warnings)


def _answered_from_documents(turn) -> bool:
    """Whether the turn's answer was taken from passages of the index (the sources it names: a document
    answer is said from its sentences, no LLM prompt carries them)."""
    return any(source.get("file") for source in turn.done.sources)


def _build(db, index, live_stages):
    return build(db, KB_DIR, index, live_stages.brain.retriever.passages.embedder,
                 chunking=Chunking.from_config(live_stages.config.knowledge), progress=False)


def test_missing_index_answers_from_facts_then_a_live_rebuild_is_used(make_driver, live_stages, pipeline_db,
                                                                       heldout_rows, tmp_path):
    chat = FailingChat(live_stages.brain.chat_model)   # never armed: records what the LLM is given
    index = tmp_path / "index"
    driver = make_driver(chat_model=chat, index=index)
    facts = driver.ask(QUESTION)
    assert facts.done.used_run_ids == (_best_mnist(heldout_rows),) and not facts.errors
    assert _index_warning(_logged_warnings(driver)[-1]), _logged_warnings(driver)
    before = driver.ask(DOC_QUESTION)
    assert not _answered_from_documents(before)

    report = _build(pipeline_db, index, live_stages)   # while the orchestrator runs
    assert report.runs == len(heldout_rows) and report.doc_chunks > 0
    after = driver.ask(DOC_QUESTION)
    assert after.done.text and not after.errors
    assert _answered_from_documents(after), "the answer after the rebuild did not use the new index"
    assert not _index_warning(_logged_warnings(driver)[-1])
    assert driver.alive


def test_corrupt_index_answers_from_facts_with_a_warning(make_driver, live_stages, pipeline_db, heldout_rows,
                                                         tmp_path):
    index = tmp_path / "index"
    _build(pipeline_db, index, live_stages)
    (current_version(index) / VECTORS).write_bytes(b"not a faiss index")
    chat = FailingChat(live_stages.brain.chat_model)
    driver = make_driver(chat_model=chat, index=index)
    turn = driver.ask(QUESTION)
    assert turn.done.used_run_ids == (_best_mnist(heldout_rows),) and not turn.errors
    assert not _answered_from_documents(turn)
    warnings = _logged_warnings(driver)[-1]
    assert _index_warning(warnings) and any("corrupt" in w for w in warnings), warnings
    _build(pipeline_db, index, live_stages)           # rebuilt (atomically) while it runs
    doc = driver.ask(DOC_QUESTION)
    assert _answered_from_documents(doc)
    assert not _index_warning(_logged_warnings(driver)[-1])
    assert_next_turn_works(driver, heldout_rows)


def test_reads_succeed_while_a_training_job_writes(make_driver, pipeline_db, heldout_rows):
    driver = make_driver()
    question, mlp_ids = count_answer(heldout_rows)

    @log_run(db=pipeline_db)
    def train(*, dataset: str, model_type: str, seed: int):
        return {"metrics": {"val_acc": round(random.Random(seed).uniform(0.5, 0.9), 4)}}

    locked, release = threading.Event(), threading.Event()

    def writer() -> None:   # holds the DB's write lock across a question, then logs more runs
        conn = connect_rw(pipeline_db)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("UPDATE manifests SET note = note WHERE 0")
            locked.set()
            release.wait(WRITER_HOLDS_LOCK_S * 10)
            conn.rollback()
        finally:
            conn.close()
        for seed in range(NEW_MLP_RUNS):
            train(dataset="mnist", model_type="mlp", seed=seed)

    thread = threading.Thread(target=writer, name="training-job")
    thread.start()
    assert locked.wait(WRITER_HOLDS_LOCK_S)
    during = driver.ask(question)          # answered while the writer holds the lock (no wait for it)
    release.set()
    thread.join(WRITER_HOLDS_LOCK_S * 10)
    assert not during.errors and set(during.done.used_run_ids) == mlp_ids
    after = driver.ask(question)
    assert len(after.done.used_run_ids) == len(mlp_ids) + NEW_MLP_RUNS   # the new runs are seen at once
    assert not after.errors and driver.alive
