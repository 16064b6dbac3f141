"""A chat client for any OpenAI-compatible server (vLLM, llama.cpp's server, a remote one), through
the maintained `openai` Python client.

`stream_chat` streams content deltas; `complete_json` asks for a reply constrained to a JSON schema
(structured outputs: `response_format` of type `json_schema`, which vLLM serves with guided
decoding; a server that refuses it, as llama-cpp-python's does, is asked with llama.cpp's
`json_object` + `schema` form from then on). The client retries connection failures and 5xx/429
answers before the first byte (`max_retries`, with backoff). Interrupting works by closing the
stream: the cancel token is checked between deltas, and leaving the stream (cancel, or the caller
closing the generator) closes the HTTP connection mid-body, which vLLM and llama.cpp's server
take as "client gone" and abort the request. Every failure becomes one `LlmError` line naming
the server and the setting to fix.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Iterator

from labvoice.cancel import CancelToken
from labvoice.llm.base import ChatMessage, GenerationOptions, LlmError

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0   # a server on loopback or the LAN answers a connect at once, or never
DEFAULT_MAX_RETRIES = 2
MAX_ERROR_CHARS = 200     # server error text quoted in an LlmError
NO_KEY = "no-key"         # the client insists on a key; local servers ignore this one
SCHEMA_NAME = "labvoice_reply"


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


def _import_openai():
    try:
        import openai
    except ImportError as err:
        raise LlmError("the openai package is not installed; run: pip install -e . (or make install)") from err
    return openai


class OpenAIChat:
    """Chat completions from an OpenAI-compatible `/v1` endpoint."""

    name = "openai"
    setting = "llm.openai.base_url"  # the config key an error message points at
    structured_output = True         # can write JSON constrained to a schema (the query planner)

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, stop: tuple[str, ...] = (),
                 max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        openai = _import_openai()
        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.stop = tuple(stop)
        self.timeout_s = timeout_s
        self.api_key = api_key
        timeout = openai.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or NO_KEY, timeout=timeout,
                                     max_retries=max_retries)
        self._schema_form = "json_schema"   # switches to "json_object" for llama.cpp-style servers
        self._schema_form_known = False

    @classmethod
    def from_config(cls, config: "Config") -> "OpenAIChat":
        cfg = config.llm.openai
        return cls(cfg.base_url, cfg.model, api_key=os.environ.get(cfg.api_key_env) or None,
                   timeout_s=cfg.timeout_s, stop=cfg.stop, max_retries=cfg.max_retries)

    # --- requests -----------------------------------------------------------------------------
    def _request(self, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        stop = list(dict.fromkeys(self.stop + tuple(options.stop)))
        if stop:
            request["stop"] = stop
        return request

    def _response_format(self, schema: dict) -> dict[str, Any]:
        if self._schema_form == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "schema": schema}}

    # --- errors -------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"LLM server at {self.base_url}"

    def _status_error(self, err) -> LlmError:
        code = err.status_code
        detail = _short(getattr(err, "message", "") or str(err))
        if code in (401, 403):
            fix = "check the API key (the env var named by llm.openai.api_key_env)"
        elif code == 404:
            fix = f"check {self.setting} (it should end in /v1) and that the server serves model '{self.model}'"
        elif code >= 500:
            fix = "see the server's log"
        else:
            fix = "check the model name and generation options"
        return LlmError(f"{self._where()} answered HTTP {code}: {detail}; {fix}")

    def _translate(self, err: Exception, started: bool) -> LlmError:
        openai = self._openai
        if isinstance(err, openai.APITimeoutError):
            return LlmError(f"{self._where()} did not answer within {self.timeout_s:g} s; "
                            "check that it is running and not overloaded, or raise the timeout")
        if isinstance(err, openai.APIConnectionError):
            if started:
                return LlmError(f"{self._where()} closed the connection mid-answer (did it crash or restart?); "
                                "see the server's log")
            return LlmError(f"{self._where()} is not reachable; start it or set {self.setting}")
        if isinstance(err, openai.APIStatusError):
            return self._status_error(err)
        if isinstance(err, openai.APIError):   # an error event inside the stream
            return LlmError(f"{self._where()} reported an error mid-answer: {_short(err.message)}; "
                            "see the server's log")
        if isinstance(err, ValueError):        # an event that is not JSON
            return LlmError(f"{self._where()} sent a malformed stream event ({_short(str(err))}); "
                            f"is {self.setting} an OpenAI-compatible server?")
        return LlmError(f"{self._where()} failed: {type(err).__name__}: {_short(str(err))}; check {self.setting}")

    # --- streaming ----------------------------------------------------------------------------
    def _deltas(self, request: dict[str, Any], cancel: CancelToken, client=None) -> Iterator[str]:
        """Yield content deltas of one streamed request; the stream is closed however this ends."""
        openai = self._openai
        started = finished = False
        stream = None
        try:
            stream = (client or self._client).chat.completions.create(**request)
            for chunk in stream:
                started = True
                if cancel.cancelled:
                    log.debug("LLM stream cancelled: closing the connection")
                    return
                if not chunk.choices:
                    continue   # e.g. a usage-only chunk
                choice = chunk.choices[0]
                finished = finished or choice.finish_reason is not None
                content = choice.delta.content if choice.delta is not None else None
                if content:
                    yield content
                if cancel.cancelled:
                    return
        except (openai.OpenAIError, ValueError) as err:
            raise self._translate(err, started) from None
        finally:
            if stream is not None:
                stream.close()   # mid-body: the server sees the client go and aborts the request
        if not finished and not cancel.cancelled:
            raise LlmError(f"{self._where()} ended the answer stream without finishing it; see the server's log")

    def stream_chat(self, messages: list[ChatMessage], options: GenerationOptions,
                    cancel: CancelToken) -> Iterator[str]:
        """Yield content deltas; stop (closing the connection) as soon as `cancel` is set."""
        if cancel.cancelled:
            return
        yield from self._deltas(self._request(messages, options), cancel)

    def warm_up(self, messages: list[ChatMessage]) -> None:
        """Nothing to do: the server keeps its own prefix cache."""

    def complete_json(self, messages: list[ChatMessage], schema: dict, options: GenerationOptions,
                      cancel: CancelToken) -> str:
        """The reply as text, constrained by the server to `schema` (JSON); "" when cancelled."""
        if cancel.cancelled:
            return ""
        request = self._request(messages, options)
        request["response_format"] = self._response_format(schema)
        if self._schema_form_known:
            return "".join(self._deltas(request, cancel))
        try:   # the first structured request finds out which form the server takes: no retries
            reply = "".join(self._deltas(request, cancel, self._client.with_options(max_retries=0)))
        except LlmError as err:
            refused = self._schema_form == "json_schema" and " answered HTTP " in str(err) and \
                any(word in str(err) for word in ("json_schema", "response_format", "json_object"))
            if not refused:
                raise
            # llama-cpp-python's server validates response_format.type against text|json_object.
            log.info("%s refused response_format json_schema (%s); using json_object with a schema", self.base_url, err)
            self._schema_form = "json_object"
            request["response_format"] = self._response_format(schema)
            reply = "".join(self._deltas(request, cancel))
        self._schema_form_known = True
        return reply

    def close(self) -> None:
        self._client.close()

