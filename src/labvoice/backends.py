"""The one factory: config names a backend per stage and profile; this builds it.

Each backend lives in its own module and is imported only when chosen, so a missing optional
runtime (vLLM client deps, transformers for CSM) fails with an install hint, not at start-up.
The pipeline never asks which backend it got.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from labvoice.errors import LabvoiceError

if TYPE_CHECKING:
    from labvoice.config import Config
    from labvoice.llm.base import ChatModel
    from labvoice.stt.base import Transcriber
    from labvoice.tts.base import Synthesizer

TRANSCRIBERS = {"faster_whisper": "labvoice.stt.faster_whisper:FasterWhisperTranscriber"}
CHAT_MODELS = {
    "llama_cpp": "labvoice.llm.llama_cpp:LlamaCppChat",
    "openai": "labvoice.llm.openai_compat:OpenAIChat",
    "vllm": "labvoice.llm.vllm:VllmChat",
}
SYNTHESIZERS = {
    "piper": "labvoice.tts.piper:PiperSynthesizer",
    "csm": "labvoice.tts.csm:CsmSynthesizer",
}


class BackendUnavailable(LabvoiceError, RuntimeError):
    """A backend's runtime is not installed; the message says what to install."""

    def __init__(self, message: str) -> None:
        super().__init__("backend_unavailable", message)


def _load(spec: str, extra: str):
    module_name, _, cls_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise BackendUnavailable(f"{module_name} needs {err.name or 'a missing package'}; "
                                 f"install it with: pip install -e '.[{extra}]'") from None
    return getattr(module, cls_name)


def make_transcriber(config: "Config", profile: str) -> "Transcriber":
    return _load(TRANSCRIBERS["faster_whisper"], profile).from_config(config, profile)


def make_chat_model(config: "Config", profile: str) -> "ChatModel":
    name = config.llm.gpu_backend if profile == "gpu" else config.llm.cpu_backend
    return _load(CHAT_MODELS[name], profile).from_config(config)


def make_synthesizer(config: "Config", profile: str) -> "Synthesizer":
    name = config.tts.gpu_backend if profile == "gpu" else config.tts.cpu_backend
    return _load(SYNTHESIZERS[name], profile).from_config(config)
