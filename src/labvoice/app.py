"""Assembles the assistant's parts from config: profile, thread budget, retriever, LLM, answerer.

Everything the CLI, the pipeline and the GUI load goes through here, so each is loaded once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from labvoice.answer.grounded import GroundedAnswerer
from labvoice.answer.planner import make_planner
from labvoice.backends import make_chat_model
from labvoice.config import Config
from labvoice.hardware import apply_thread_budget, resolved_profile
from labvoice.knowledge.retriever import Retriever
from labvoice.llm.base import ChatModel

log = logging.getLogger(__name__)


def setup(config: Config) -> str:
    """Logging and the thread budget; returns the resolved profile (cpu|gpu)."""
    logging.basicConfig(level=config.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    apply_thread_budget(config.threads)
    return resolved_profile(config)


def load_passage_source(config: Config, warnings: list[str]):
    """The FAISS index with its embedder, or None (with a warning) when it is missing or stale."""
    from labvoice.knowledge.passages import open_passage_source

    return open_passage_source(config, warnings)


@dataclass
class Brain:
    """The text half of the assistant: retrieval + LLM + guard."""

    config: Config
    profile: str
    retriever: Retriever
    chat_model: ChatModel
    answerer: GroundedAnswerer
    warnings: list[str]

    def close(self) -> None:
        self.chat_model.close()


def load_brain(config: Config, profile: str | None = None, with_index: bool = True) -> Brain:
    profile = profile or setup(config)
    warnings: list[str] = []
    passages = load_passage_source(config, warnings) if with_index else None
    retriever = Retriever.from_config(config, passages)
    retriever.warnings.extend(warnings)
    retriever.store.check_readable()     # a DB none of whose runs can be read stops here, saying why
    chat_model = make_chat_model(config, profile)
    answerer = GroundedAnswerer(retriever, chat_model, config.llm, config.pipeline,
                                planner=make_planner(config, profile, chat_model))
    return Brain(config, profile, retriever, chat_model, answerer, warnings)
