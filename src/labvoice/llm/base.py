"""The chat-model interface: llama.cpp (CPU), vLLM and any OpenAI-compatible server implement it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generator, Protocol

from labvoice.cancel import CancelToken
from labvoice.errors import LabvoiceError


@dataclass(frozen=True)
class ChatMessage:
    role: str      # system | user | assistant
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    max_tokens: int
    temperature: float
    stop: tuple[str, ...] = field(default=())


class LlmError(LabvoiceError, RuntimeError):
    """The model or its server failed; the message is one readable line."""

    def __init__(self, message: str) -> None:
        super().__init__("llm", message)


class ChatModel(Protocol):
    """Streams the assistant's reply token by token; stops as soon as `cancel` is set.

    Closing the generator (or cancelling) must release the request: llama.cpp stops decoding,
    an HTTP backend closes the stream so the server aborts it.

    `structured_output`: whether it can also write JSON constrained to a schema (`StructuredChat`).
    `warm_up(messages)` loads a stable prompt prefix into the model's cache (llama.cpp); a server
    that keeps its own cache does nothing.
    """

    name: str
    structured_output: bool

    def stream_chat(self, messages: list[ChatMessage], options: GenerationOptions,
                    cancel: CancelToken) -> Generator[str, None, None]: ...

    def warm_up(self, messages: list[ChatMessage]) -> None: ...

    def close(self) -> None: ...


class StructuredChat(ChatModel, Protocol):
    """A chat model that can also write a reply constrained to a JSON schema (vLLM guided
    decoding, `response_format` json_schema on an OpenAI-compatible server, llama.cpp's
    grammar). The query planner uses it; `structured_output` says whether it can."""

    structured_output: bool

    def complete_json(self, messages: list[ChatMessage], schema: dict, options: GenerationOptions,
                      cancel: CancelToken) -> str: ...


def can_write_json(model: ChatModel) -> bool:
    """Whether `model` implements `StructuredChat` (scripted stand-ins do not)."""
    return model.structured_output
