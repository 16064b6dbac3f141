"""A streaming chat client for any OpenAI-compatible server (vLLM, llama.cpp's server, a remote one).

It POSTs to `<base_url>/chat/completions` with `stream: true` through httpx and yields the content
deltas of the server-sent events. Interrupting works by closing the response: the cancel token is
checked between deltas, and leaving the stream (cancel, or the caller closing the generator) closes
the HTTP connection mid-body, which vLLM and llama.cpp's server take as "client gone" and abort
the request. Every failure becomes one `LlmError` line naming the server and the setting to fix.
"""
from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import httpx

from labvoice.cancel import CancelToken
from labvoice.llm.base import ChatMessage, GenerationOptions, LlmError

if TYPE_CHECKING:
    from labvoice.config import Config

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0   # a server on loopback or the LAN answers a connect at once, or never
DONE = "[DONE]"
MAX_ERROR_CHARS = 200     # server error text quoted in an LlmError


def _sse_events(lines: Iterable[str]) -> Iterator[str]:
    """The `data` of each server-sent event: data lines joined, comments and other fields skipped."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):  # comment, e.g. a keep-alive ping
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


def _error_text(body: bytes) -> str:
    """The message of an OpenAI-style error body, else the body itself, shortened."""
    raw = body.decode("utf-8", "replace")
    try:
        payload = json.loads(raw)
    except ValueError:
        return _short(raw)
    if isinstance(payload, dict):
        err = payload.get("error", payload.get("detail", payload))
        if isinstance(err, dict):
            err = err.get("message", err)
        return _short(str(err))
    return _short(raw)


class OpenAIChat:
    """Streams chat completions from an OpenAI-compatible `/v1` endpoint."""

    name = "openai"
    setting = "llm.openai.base_url"  # the config key an error message points at

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, stop: tuple[str, ...] = ()) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.stop = tuple(stop)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: "Config") -> "OpenAIChat":
        cfg = config.llm.openai
        return cls(cfg.base_url, cfg.model, api_key=os.environ.get(cfg.api_key_env) or None,
                   timeout_s=cfg.timeout_s, stop=cfg.stop)

    def _payload(self, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        stop = list(dict.fromkeys(self.stop + tuple(options.stop)))
        if stop:
            payload["stop"] = stop
        return payload

    def _where(self) -> str:
        return f"LLM server at {self.base_url}"

    def _status_error(self, response: httpx.Response) -> LlmError:
        code, detail = response.status_code, _error_text(response.read())
        if code in (401, 403):
            fix = "check the API key (the env var named by llm.openai.api_key_env)"
        elif code == 404:
            fix = f"check {self.setting} (it should end in /v1) and that the server serves model '{self.model}'"
        elif code >= 500:
            fix = "see the server's log"
        else:
            fix = "check the model name and generation options"
        return LlmError(f"{self._where()} answered HTTP {code}: {detail}; {fix}")

    def _delta(self, data: str) -> tuple[str, bool]:
        """(content, finished) of one event; raise LlmError for anything that is not a chunk."""
        try:
            event = json.loads(data)
        except ValueError:
            raise LlmError(f"{self._where()} sent a malformed stream event ({_short(data)!r}); "
                           f"is {self.setting} an OpenAI-compatible server?") from None
        if not isinstance(event, dict):
            raise LlmError(f"{self._where()} sent an unexpected stream event ({_short(data)!r})")
        if "error" in event:
            raise LlmError(f"{self._where()} reported an error mid-answer: "
                           f"{_error_text(json.dumps(event).encode())}; see the server's log")
        choices = event.get("choices") or []
        if not choices:
            return "", False  # e.g. a usage-only chunk
        choice = choices[0]
        content = (choice.get("delta") or {}).get("content") or ""
        return content, choice.get("finish_reason") is not None

    def stream_chat(self, messages: list[ChatMessage], options: GenerationOptions,
                    cancel: CancelToken) -> Iterator[str]:
        """Yield content deltas; stop (closing the connection) as soon as `cancel` is set."""
        if cancel.cancelled:
            return
        finished = False
        try:
            with self._client.stream("POST", "/chat/completions", json=self._payload(messages, options)) as response:
                if response.status_code >= 400:
                    raise self._status_error(response)
                for data in _sse_events(response.iter_lines()):
                    if cancel.cancelled:
                        log.debug("LLM stream cancelled: closing the connection")
                        return
                    if data.strip() == DONE:
                        return
                    content, done = self._delta(data)
                    finished = finished or done
                    if content:
                        yield content
                    if cancel.cancelled:
                        return
        except httpx.ConnectError:
            raise LlmError(f"{self._where()} is not reachable; start it or set {self.setting}") from None
        except httpx.TimeoutException:
            raise LlmError(f"{self._where()} did not answer within {self.timeout_s:g} s; "
                           f"check that it is running and not overloaded, or raise the timeout") from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            raise LlmError(f"{self._where()} closed the connection mid-answer (did it crash or restart?); "
                           "see the server's log") from None
        except httpx.HTTPError as err:
            raise LlmError(f"{self._where()} failed: {type(err).__name__}: {_short(str(err))}; "
                           f"check {self.setting}") from None
        if not finished and not cancel.cancelled:
            raise LlmError(f"{self._where()} ended the answer stream without finishing it; see the server's log")

    def close(self) -> None:
        self._client.close()
