"""OpenAIChat (the `openai` client) against a real OpenAI-compatible server (llama.cpp's) on loopback.

Faults a real server will not produce on demand (a malformed event stream, a server that accepts
and never answers, one that fails once and then works) come from a few lines of stdlib HTTP server
in a thread.
"""
from __future__ import annotations

import http.server
import json
import signal
import threading
import time

import pytest

from labvoice.cancel import CancelToken
from labvoice.config import load_config
from labvoice.llm.base import ChatMessage, GenerationOptions, LlmError
from labvoice.llm.openai_compat import OpenAIChat
from tests.llm.conftest import SERVED_NAME, free_port, start_llama_server

QUESTION = [ChatMessage("system", "You are a helpful assistant."),
            ChatMessage("user", "Name three colours of the rainbow.")]
LONG_TASK = [ChatMessage("user", "Write a long story about a dragon who learns to fly, in many paragraphs.")]
SHORT = GenerationOptions(max_tokens=24, temperature=0.0)
LONG = GenerationOptions(max_tokens=400, temperature=0.0)
DISCONNECT_LINE = "Disconnected from client"
LOG_WAIT_S = 15.0


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def chat(llama_server):
    client = OpenAIChat(llama_server.base_url, SERVED_NAME, timeout_s=60)
    yield client
    client.close()


def test_stream_yields_deltas_that_join_into_an_answer(chat):
    deltas = list(chat.stream_chat(QUESTION, SHORT, CancelToken()))
    assert len(deltas) >= 3
    assert all(isinstance(d, str) and d for d in deltas)
    assert "".join(deltas).strip()


def test_cancel_after_first_delta_closes_the_connection(chat, llama_server):
    disconnects = llama_server.log_text().count(DISCONNECT_LINE)
    cancel = CancelToken()
    stream = chat.stream_chat(LONG_TASK, LONG, cancel)
    assert next(stream)
    cancel.cancel()
    assert list(stream) == []
    # The server notices the closed connection and drops the request (it logs the disconnect)
    # instead of generating the remaining ~400 tokens.
    assert _wait_for(lambda: llama_server.log_text().count(DISCONNECT_LINE) > disconnects, LOG_WAIT_S)
    # ... and it is free for the next question.
    assert "".join(chat.stream_chat(QUESTION, SHORT, CancelToken())).strip()


def test_closing_the_stream_closes_the_connection(chat, llama_server):
    disconnects = llama_server.log_text().count(DISCONNECT_LINE)
    stream = chat.stream_chat(LONG_TASK, LONG, CancelToken())
    assert next(stream)
    stream.close()  # what a stage does when it drops a stale turn
    assert _wait_for(lambda: llama_server.log_text().count(DISCONNECT_LINE) > disconnects, LOG_WAIT_S)


def test_server_not_running_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = OpenAIChat(url, "any", max_retries=0)
    with pytest.raises(LlmError, match=f"LLM server at {url} is not reachable; start it or set llm.openai.base_url"):
        list(client.stream_chat(QUESTION, SHORT, CancelToken()))
    client.close()


def test_server_killed_mid_answer_then_a_running_server_still_works(tmp_path, chat):
    doomed = start_llama_server(tmp_path, "doomed")
    client = OpenAIChat(doomed.base_url, SERVED_NAME, timeout_s=60)
    try:
        stream = client.stream_chat(LONG_TASK, LONG, CancelToken())
        assert next(stream)
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait()
        with pytest.raises(LlmError, match=f"LLM server at {doomed.base_url} closed the connection mid-answer"):
            list(stream)
    finally:
        client.close()
        doomed.stop()
    assert "".join(chat.stream_chat(QUESTION, SHORT, CancelToken())).strip()


def test_http_error_status_is_one_line(llama_server):
    client = OpenAIChat(llama_server.base_url + "/no-such-prefix", SERVED_NAME)
    with pytest.raises(LlmError, match="answered HTTP 404") as err:
        list(client.stream_chat(QUESTION, SHORT, CancelToken()))
    assert "\n" not in str(err.value) and "llm.openai.base_url" in str(err.value)
    client.close()


class _FaultyHandler(http.server.BaseHTTPRequestHandler):
    """Answers chat requests with whatever the test put in `server.reply` (None = never answer)."""

    def do_POST(self):  # noqa: N802 (stdlib naming)
        self.server.seen_headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
        if self.server.fail_first and len(self.server.requests) == 1:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            body = b'{"error": {"message": "warming up"}}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        reply = self.server.reply
        if reply is None:
            self.server.release.wait(10)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def faulty_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FaultyHandler)
    server.reply, server.release, server.seen_headers = b"", threading.Event(), {}
    server.requests, server.fail_first = [], False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_malformed_event_stream(faulty_server):
    faulty_server.reply = b"data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\ndata: <html>oops\n\n"
    client = OpenAIChat(_url(faulty_server), "m")
    stream = client.stream_chat(QUESTION, SHORT, CancelToken())
    assert next(stream) == "Hi"
    with pytest.raises(LlmError, match="malformed stream event"):
        next(stream)
    client.close()


def test_stream_that_stops_without_finishing(faulty_server):
    faulty_server.reply = b"data: {\"choices\": [{\"delta\": {\"content\": \"Hal\"}}]}\n\n"
    client = OpenAIChat(_url(faulty_server), "m")
    with pytest.raises(LlmError, match="without finishing"):
        list(client.stream_chat(QUESTION, SHORT, CancelToken()))
    client.close()


def test_timeout(faulty_server):
    faulty_server.reply = None
    client = OpenAIChat(_url(faulty_server), "m", timeout_s=0.5, max_retries=0)
    with pytest.raises(LlmError, match="did not answer within 0.5 s"):
        list(client.stream_chat(QUESTION, SHORT, CancelToken()))
    client.close()


def test_from_config_sends_the_key_and_stop_strings(faulty_server):
    faulty_server.reply = (b"data: {\"choices\": [{\"delta\": {\"content\": \"ok\"}, \"finish_reason\": \"stop\"}]}"
                           b"\n\ndata: [DONE]\n\n")
    config = load_config(environ={}).replace(**{"llm.openai.base_url": _url(faulty_server),
                                                "llm.openai.api_key_env": "LABVOICE_TEST_KEY",
                                                "llm.openai.stop": ["<|end|>"]})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABVOICE_TEST_KEY", "sekret")
        client = OpenAIChat.from_config(config)
    assert list(client.stream_chat(QUESTION, SHORT, CancelToken())) == ["ok"]
    assert faulty_server.seen_headers.get("authorization") == "Bearer sekret"
    assert faulty_server.requests[-1]["stop"] == ["<|end|>"] and faulty_server.requests[-1]["stream"] is True
    assert client._request(QUESTION, GenerationOptions(8, 0.1, stop=("\n\n",)))["stop"] == ["<|end|>", "\n\n"]
    client.close()


FINISHED = (b"data: {\"choices\": [{\"delta\": {\"content\": \"ok\"}, \"finish_reason\": \"stop\"}]}"
            b"\n\ndata: [DONE]\n\n")


def test_a_server_that_fails_once_is_retried(faulty_server):
    faulty_server.reply, faulty_server.fail_first = FINISHED, True
    client = OpenAIChat(_url(faulty_server), "m", max_retries=2)
    assert list(client.stream_chat(QUESTION, SHORT, CancelToken())) == ["ok"]
    assert len(faulty_server.requests) == 2
    client.close()


def test_without_retries_the_failure_is_one_line(faulty_server):
    faulty_server.reply, faulty_server.fail_first = FINISHED, True
    client = OpenAIChat(_url(faulty_server), "m", max_retries=0)
    with pytest.raises(LlmError, match="answered HTTP 503: .*warming up.*see the server's log"):
        list(client.stream_chat(QUESTION, SHORT, CancelToken()))
    client.close()


def test_an_error_event_mid_stream_is_reported(faulty_server):
    faulty_server.reply = (b"data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\n"
                           b"data: {\"error\": {\"message\": \"out of memory\"}}\n\n")
    client = OpenAIChat(_url(faulty_server), "m")
    stream = client.stream_chat(QUESTION, SHORT, CancelToken())
    assert next(stream) == "Hi"
    with pytest.raises(LlmError, match="reported an error mid-answer: out of memory"):
        next(stream)
    client.close()


# --- structured outputs ----------------------------------------------------------------------------

COLOUR_SCHEMA = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]},
                                                  "count": {"type": "integer", "minimum": 1, "maximum": 9}},
                 "required": ["colour", "count"], "additionalProperties": False}


def test_json_constrained_to_a_schema_from_a_real_server(chat):
    reply = chat.complete_json([ChatMessage("user", "Pick a colour of the rainbow and a small number.")],
                               COLOUR_SCHEMA, GenerationOptions(max_tokens=60, temperature=0.0), CancelToken())
    data = json.loads(reply)
    assert data["colour"] in ("red", "green", "blue") and 1 <= data["count"] <= 9
    assert set(data) == {"colour", "count"}


def test_structured_output_asks_json_schema_first_then_the_llama_cpp_form(faulty_server):
    faulty_server.reply = (b"data: {\"choices\": [{\"delta\": {\"content\": \"{}\"}, \"finish_reason\": \"stop\"}]}"
                           b"\n\ndata: [DONE]\n\n")
    client = OpenAIChat(_url(faulty_server), "m")
    assert client.complete_json(QUESTION, COLOUR_SCHEMA, SHORT, CancelToken()) == "{}"
    sent = faulty_server.requests[-1]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "labvoice_reply", "schema": COLOUR_SCHEMA}}
    client.close()
