"""Fault injectors for the pipeline tests: wrappers around the real, loaded stages that fail on cue.

Each wraps a real object (the loaded llama.cpp model, Piper voice, Whisper model) and behaves
exactly like it until armed; an injected failure is an exception raised where the real backend
would raise one. A server that dies mid-stream is the OpenAI client's own test (tests/llm).
"""
from __future__ import annotations

import time

from typing import Iterator

from labvoice.llm.base import LlmError

INJECTED = "injected fault"


class FailingChat:
    """A ChatModel that raises `error` after `after_tokens` streamed tokens, once per arm().
    Every prompt it receives is kept in `prompts` (so a test can see what the LLM was given)."""

    name = "failing"
    structured_output = False

    def __init__(self, inner) -> None:
        self.inner = inner
        self.prompts: list[list] = []
        self._after: int | None = None
        self._error: BaseException | None = None
        self.raised = 0

    def arm(self, after_tokens: int, error: BaseException | None = None) -> None:
        self._after, self._error = after_tokens, error or LlmError(f"{INJECTED}: the model stopped")

    def stream_chat(self, messages, options, cancel) -> Iterator[str]:
        self.prompts.append(list(messages))
        inner = self.inner.stream_chat(messages, options, cancel)
        try:
            for count, token in enumerate(inner):
                if self._after is not None and count >= self._after:
                    error, self._after = self._error, None
                    self.raised += 1
                    raise error
                yield token
        finally:
            inner.close()   # releases the real model's lock, as a backend does when its stream ends

    def warm_up(self, messages) -> None:
        self.inner.warm_up(messages)

    def close(self) -> None:
        """The wrapped model is shared by the whole session: never closed here."""


class ScriptedChat:
    """A ChatModel that streams a fixed reply token by token (what a runaway model might say).
    The prompts it was given are kept in `prompts`, from the moment it is asked."""

    name = "scripted"
    structured_output = False   # it cannot write JSON to a schema (the planner is never used with it)

    def __init__(self, tokens: list[str], seconds_per_token: float = 0.0) -> None:
        self.tokens = tokens
        self.seconds_per_token = seconds_per_token   # a slow model (a loaded CPU): each token this late
        self.prompts: list[list] = []

    @classmethod
    def saying(cls, reply: str, seconds_per_token: float = 0.0) -> "ScriptedChat":
        return cls([word + " " for word in reply.split()], seconds_per_token)

    def stream_chat(self, messages, options, cancel) -> Iterator[str]:
        self.prompts.append(list(messages))
        for token in self.tokens:
            if cancel.cancelled:
                return
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            yield token

    def warm_up(self, messages) -> None:
        """Nothing cached: every reply is the script."""

    def close(self) -> None:
        pass


class FailingSynthesizer:
    """A Synthesizer whose n-th call (0-based, counted from arm()) raises before any audio."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.texts: list[str] = []
        self._fail_at: int | None = None

    def arm(self, fail_at_call: int) -> None:
        self._fail_at, self.texts = fail_at_call, []

    def synthesize(self, text, style, cancel):
        call = len(self.texts)
        self.texts.append(text)
        if call == self._fail_at:
            raise RuntimeError(f"{INJECTED}: the voice failed on {text!r}")
        yield from self.inner.synthesize(text, style, cancel)


class FailingTranscriber:
    """A Transcriber that raises on its next call after arm()."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self._armed = False

    def arm(self) -> None:
        self._armed = True

    def transcribe(self, audio, cancel, hints=(), respell_to=()):
        if self._armed:
            self._armed = False
            raise RuntimeError(f"{INJECTED}: speech recognition crashed")
        yield from self.inner.transcribe(audio, cancel, hints, respell_to)
