"""Fixtures for the pipeline fault tests.

Models load once per session (`live_stages` in tests/conftest.py); each test re-wires them to its
own DB copy, index folder, logs folder and, where a fault is injected, a wrapper around the real
LLM, voice or speech recognizer (`rewire`), without reloading anything. Tests drive the text path
(`ask_text`, no audio devices) unless audio is the point, through `Driver`: questions in, the
turn's events out.
"""
from __future__ import annotations

import dataclasses
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labvoice.events import AnswerDone, ChunkPlayed, ErrorEvent, Event, TurnEnded
from labvoice.knowledge.store import copy_db  # noqa: F401 - also re-exported for other tests
from labvoice.pipeline.orchestrator import Orchestrator

TURN_TIMEOUT_S = 180          # a loaded 2-core box can take long over one LLM answer; a hang still fails
QUIET_VERBOSITY = 0.0         # one-sentence answers keep the real LLM fast


@dataclass
class Turn:
    turn_id: int
    events: list[Event] = field(default_factory=list)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def done(self) -> AnswerDone | None:
        found = self.of(AnswerDone)
        return found[-1] if found else None

    @property
    def ended(self) -> TurnEnded:
        return self.of(TurnEnded)[-1]

    @property
    def errors(self) -> list[ErrorEvent]:
        return self.of(ErrorEvent)

    @property
    def played(self) -> list[int]:
        return [e.index for e in self.of(ChunkPlayed)]


class Driver:
    """An orchestrator on the text path, asked one question at a time."""

    def __init__(self, orch: Orchestrator) -> None:
        self.orch = orch
        self.events = orch.events()

    def wait(self, turn_id: int, timeout: float = TURN_TIMEOUT_S) -> Turn:
        turn = Turn(turn_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event.turn_id == turn_id:
                turn.events.append(event)
                if isinstance(event, TurnEnded):
                    return turn
        raise AssertionError(f"turn {turn_id} did not end within {timeout} s; saw "
                             f"{[type(e).__name__ for e in turn.events]}")

    def ask(self, text: str) -> Turn:
        return self.wait(self.orch.ask_text(text))

    def ask_audio(self, audio) -> Turn:
        return self.wait(self.orch.ask_audio(audio))

    @property
    def alive(self) -> bool:
        return self.orch.alive



def rewire(stages, *, db: Path, index: Path, logs: Path, chat_model=None, synthesizer=None, transcriber=None,
           settings: dict | None = None):
    """The session's loaded stages on another DB/index/logs folder, with optional stand-ins and
    config `settings` ({"llm.facts_first": False}) that need no model reloaded."""
    from labvoice.answer.grounded import GroundedAnswerer
    from labvoice.app import Brain
    from labvoice.knowledge.passages import LiveIndex
    from labvoice.knowledge.retriever import Retriever

    config = stages.config.replace(**{"paths.db": db, "paths.index": index, "paths.logs": logs, **(settings or {})})
    passages = LiveIndex(index, stages.brain.retriever.passages.embedder)
    retriever = Retriever.from_config(config, passages)
    chat = chat_model or stages.brain.chat_model
    answerer = GroundedAnswerer(retriever, chat, config.llm, config.pipeline)
    brain = Brain(config, stages.brain.profile, retriever, chat, answerer, [])
    return dataclasses.replace(stages, config=config, brain=brain, transcriber=transcriber or stages.transcriber,
                               synthesizer=synthesizer or stages.synthesizer)


@pytest.fixture
def pipeline_db(tmp_path, heldout_db) -> Path:
    """A private copy of the held-out DB (tests may write to it)."""
    return copy_db(heldout_db[0], tmp_path / "runs.db")


@pytest.fixture
def heldout_rows(heldout_db) -> list[dict]:
    return heldout_db[1]


@pytest.fixture
def make_driver(live_stages, tmp_path, pipeline_db):
    """make_driver(**rewire_kwargs) -> a started text-path Driver; every one is stopped afterwards.
    Models are shared: orchestrators are stopped, never closed."""
    started: list[Orchestrator] = []

    def make(*, db: Path | None = None, index: Path | None = None, logs: Path | None = None,
             verbosity: float = QUIET_VERBOSITY, **stand_ins) -> Driver:
        stages = rewire(live_stages, db=db or pipeline_db, index=index or tmp_path / "no-index",
                        logs=logs or tmp_path / "logs", **stand_ins)
        orch = Orchestrator(stages.config, stages=stages, with_audio_input=False, with_audio_output=False)
        started.append(orch)
        orch.start()
        orch.set_style(verbosity=verbosity)
        return Driver(orch)

    yield make
    for orch in started:
        orch.stop()


def count_answer(rows: list[dict], model: str = "mlp") -> tuple[str, set[str]]:
    """The question used to prove 'the next turn works', and its ground truth (held-out DB)."""
    ids = {r["run_id"] for r in rows if r["model_type"] == model}
    return f"How many runs used an {model.upper()}?", ids


def assert_next_turn_works(driver: Driver, rows: list[dict]) -> Turn:
    question, ids = count_answer(rows)
    turn = driver.ask(question)
    assert turn.ended.reason == "done", turn.events
    assert set(turn.done.used_run_ids) == ids
    assert turn.done.text.strip() and not turn.errors
    assert driver.alive
    return turn
