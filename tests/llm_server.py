"""A loopback LLM server that streams the real wire formats, with known delays and usage.

The tests start it themselves (``serve()``, or the fixtures in ``test_sdk_streams.py``) and
point the real ``openai`` and ``anthropic`` SDKs at it, so a stream goes through the SDK's HTTP
client, its server-sent-events decoder and its pydantic models exactly as it would against
the provider. Endpoints (``stream: true`` only; anything else is a 400):

- ``POST /v1/chat/completions``: OpenAI Chat Completions chunks (``data:`` lines only): a
  role-only chunk, one chunk per token, a ``finish_reason`` chunk, then, when the request asks
  for ``stream_options.include_usage``, a usage chunk with empty ``choices``; ``data: [DONE]``.
- ``POST /v1/responses``: OpenAI Responses events (``event:`` + ``data:``) from
  ``response.created`` to ``response.completed``, whose response carries the usage.
- ``POST /v1/messages``: Anthropic Messages events from ``message_start`` (usage: input and
  cache counts) to ``message_stop``, with a ``ping``, one ``content_block_delta`` per token and
  a ``message_delta`` carrying the cumulative usage.

Timing: after ``headers_delay_s`` (default 0) the server sends the headers and everything
before the first token (role chunk, ``message_start``, ``content_block_start``, ``ping``,
``response.created`` ...) at once; then it waits ``first_token_delay_s`` and sends the first
content event, then waits
``inter_token_delay_s`` before each further content event; the closing events follow at once.
Each event is written as one HTTP/1.1 chunk on a socket with Nagle's algorithm off, and
flushed, so what the client measures is the server's pacing.

Usage numbers are given as each provider reports them (see :class:`Scenario`): the same
``input_tokens`` means "all prompt tokens" to OpenAI and "prompt tokens not read from or
written to the cache" to Anthropic, which is the difference pytest-perfbaseline normalises.

Use::

    with serve() as server:
        server.configure(first_token_delay_s=0.05, tokens=("Hi", "!"), output_tokens=7)
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")
        ...
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ENDPOINTS", "LLMServer", "ReceivedRequest", "Scenario", "serve"]

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
ENDPOINTS = (CHAT, RESPONSES, MESSAGES)

# A handler blocked on an idle keep-alive connection gives up after this long, and
# LLMServer.stop() waits at most this long for handler threads to end.
_IDLE_TIMEOUT_S = 10.0
_JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Scenario:
    """What the server streams. Token counts are as the provider itself reports them.

    - ``input_tokens``: OpenAI ``prompt_tokens`` / Responses ``input_tokens`` (these include
      cached and cache-written tokens); Anthropic ``input_tokens`` (which exclude both).
    - ``cached_tokens``: OpenAI ``*_tokens_details.cached_tokens``; Anthropic
      ``cache_read_input_tokens``.
    - ``cache_write_tokens``: OpenAI ``*_tokens_details.cache_write_tokens`` (left out of Chat
      Completions when 0); Anthropic ``cache_creation_input_tokens``.
    - ``output_tokens``: ``completion_tokens`` / ``output_tokens``, reasoning included. It is
      deliberately not the number of content events, so tests can tell usage from counting.
    - ``reasoning_tokens``: ``*_tokens_details.reasoning_tokens`` (OpenAI only).
    - ``headers_delay_s``: wait before sending the response headers (the provider's queueing
      and prompt processing); ``first_token_delay_s`` then runs from the headers.
    - ``model``: the model name streamed back; None echoes the request's ``model``.
    - ``abort_after``: drop the connection after this many content events, without ending
      the chunked body (a stream cut mid-way); None streams to the end.
    """

    tokens: tuple[str, ...] = ("The", " answer", " is", " four", ".")
    headers_delay_s: float = 0.0
    first_token_delay_s: float = 0.05
    inter_token_delay_s: float = 0.01
    model: str | None = None
    input_tokens: int = 100
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 24
    reasoning_tokens: int = 0
    abort_after: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def earliest_first_token_s(self) -> float:
        """How soon after sending the request a client can have the first token, at best."""
        return self.headers_delay_s + self.first_token_delay_s

    @property
    def earliest_last_token_s(self) -> float:
        """How soon after sending the request a client can have the last token, at best."""
        return self.earliest_first_token_s + (len(self.tokens) - 1) * self.inter_token_delay_s

    @property
    def content_events(self) -> int:
        """Events that carry output: one per token."""
        return len(self.tokens)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server saw it."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received_ns: int
    """``time.perf_counter_ns()`` when the request body had been read."""


@dataclass
class _Event:
    """One server-sent event; ``content`` marks the ones carrying a token."""

    data: Any
    name: str | None = None
    content: bool = False

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.name}\n" if self.name else ""
        return f"{head}data: {data}\n\n".encode()


class _ClientGone(Exception):
    """The client closed the connection (or the server is stopping) mid-stream."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, as the real APIs do
    disable_nagle_algorithm = True  # each small event leaves at once
    timeout = _IDLE_TIMEOUT_S
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean

    # -- request ------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        length = self.headers.get("Content-Length")
        if length is None:
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return
        try:
            body = json.loads(self.rfile.read(int(length)) or b"{}")
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return
        owner = self.server.owner
        owner._record(ReceivedRequest(path, body, dict(self.headers), time.perf_counter_ns()))
        if path not in ENDPOINTS:
            self._error(HTTPStatus.NOT_FOUND, f"no route {path}")
            return
        if not isinstance(body, dict) or body.get("stream") is not True:
            self._error(HTTPStatus.BAD_REQUEST, "this test server only streams: send stream=true")
            return
        scenario = owner.scenario_for(path)
        model = scenario.model or str(body.get("model") or "unknown-model")
        if path == CHAT:
            options = body.get("stream_options") or {}
            events = _chat_events(scenario, model, include_usage=bool(options.get("include_usage")))
        elif path == RESPONSES:
            events = _responses_events(scenario, model)
        else:
            events = _messages_events(scenario, model)
        self._stream(events, scenario, request_id_header="request-id" if path == MESSAGES else None)

    def do_GET(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "POST only")

    # -- response -----------------------------------------------------------------------------

    def _error(self, status: HTTPStatus, message: str) -> None:
        payload = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk and flush it; raise _ClientGone if nobody listens."""
        if self.server.owner.stopping.is_set():
            raise _ClientGone
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as exc:  # BrokenPipeError, ConnectionResetError ...
            raise _ClientGone from exc

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self.server.owner.stopping.wait(seconds):
            raise _ClientGone

    def _stream(
        self, events: list[_Event], scenario: Scenario, request_id_header: str | None
    ) -> None:
        try:
            self._pause(scenario.headers_delay_s)
        except _ClientGone:
            self.close_connection = True
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header(request_id_header or "x-request-id", "req_test")
        self.end_headers()
        self.wfile.flush()
        sent_content = 0
        try:
            for event in events:
                if event.content:
                    self._pause(
                        scenario.first_token_delay_s
                        if sent_content == 0
                        else scenario.inter_token_delay_s
                    )
                    sent_content += 1
                self._write_chunk(event.encode())
                if event.content and sent_content == scenario.abort_after:
                    self.close_connection = True  # no last chunk: the body is cut short
                    return
            self._write_chunk(b"")  # the last chunk: "0\r\n\r\n"
        except _ClientGone:
            self.close_connection = True


# -- the three wire formats -------------------------------------------------------------------


def _chat_events(scenario: Scenario, model: str, *, include_usage: bool) -> list[_Event]:
    created = int(time.time())

    def chunk(choices: list[Any], usage: Any = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_test",
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = usage  # null on every chunk but the last, like the real API
        return payload

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    events = [_Event(chunk([choice({"role": "assistant", "content": "", "refusal": None})]))]
    events += [
        _Event(chunk([choice({"content": token})]), content=True) for token in scenario.tokens
    ]
    events.append(_Event(chunk([choice({}, "stop")])))
    if include_usage:
        prompt_details: dict[str, int] = {
            "cached_tokens": scenario.cached_tokens,
            "audio_tokens": 0,
        }
        if scenario.cache_write_tokens:
            prompt_details["cache_write_tokens"] = scenario.cache_write_tokens
        usage = {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
            "prompt_tokens_details": prompt_details,
            "completion_tokens_details": {
                "reasoning_tokens": scenario.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        events.append(_Event(chunk([], usage)))
    events.append(_Event("[DONE]"))
    return events


def _responses_events(scenario: Scenario, model: str) -> list[_Event]:
    created = int(time.time())
    item_id = "msg_test"
    text = scenario.text

    def response(status: str, output: list[Any], usage: Any) -> dict[str, Any]:
        return {
            "id": "resp_test",
            "object": "response",
            "created_at": created,
            "completed_at": created if status == "completed" else None,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "metadata": {},
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
        }

    def part(content: str) -> dict[str, Any]:
        return {"type": "output_text", "text": content, "annotations": [], "logprobs": []}

    def message(status: str, content: list[Any]) -> dict[str, Any]:
        return {
            "id": item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    done_item = message("completed", [part(text)])
    usage = {
        "input_tokens": scenario.input_tokens,
        "input_tokens_details": {
            "cached_tokens": scenario.cached_tokens,
            "cache_write_tokens": scenario.cache_write_tokens,
        },
        "output_tokens": scenario.output_tokens,
        "output_tokens_details": {"reasoning_tokens": scenario.reasoning_tokens},
        "total_tokens": scenario.input_tokens + scenario.output_tokens,
    }
    payloads: list[tuple[dict[str, Any], bool]] = [
        ({"type": "response.created", "response": response("in_progress", [], None)}, False),
        ({"type": "response.in_progress", "response": response("in_progress", [], None)}, False),
        (
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": message("in_progress", []),
            },
            False,
        ),
        ({"type": "response.content_part.added", **where, "part": part("")}, False),
        *(
            (
                {
                    "type": "response.output_text.delta",
                    **where,
                    "delta": token,
                    "logprobs": [],
                    "obfuscation": "q7Zx",
                },
                True,
            )
            for token in scenario.tokens
        ),
        ({"type": "response.output_text.done", **where, "text": text, "logprobs": []}, False),
        ({"type": "response.content_part.done", **where, "part": part(text)}, False),
        (
            {"type": "response.output_item.done", "output_index": 0, "item": done_item},
            False,
        ),
        (
            {"type": "response.completed", "response": response("completed", [done_item], usage)},
            False,
        ),
    ]
    events = []
    for sequence_number, (payload, content) in enumerate(payloads):
        payload["sequence_number"] = sequence_number
        events.append(_Event(payload, name=payload["type"], content=content))
    return events


def _messages_events(scenario: Scenario, model: str) -> list[_Event]:
    cache_counts = {
        "cache_creation_input_tokens": scenario.cache_write_tokens,
        "cache_read_input_tokens": scenario.cached_tokens,
    }
    start_usage = {
        "input_tokens": scenario.input_tokens,
        **cache_counts,
        "cache_creation": {
            "ephemeral_5m_input_tokens": scenario.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        # message_start reports the output so far; message_delta the cumulative total
        "output_tokens": 1,
        "service_tier": "standard",
    }
    message = {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events = [
        _Event({"type": "message_start", "message": message}, "message_start"),
        _Event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
        _Event({"type": "ping"}, "ping"),
    ]
    events += [
        _Event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": token},
            },
            "content_block_delta",
            content=True,
        )
        for token in scenario.tokens
    ]
    events += [
        _Event({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _Event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                # cumulative totals, as the API sends them (input counts repeated)
                "usage": {
                    "input_tokens": scenario.input_tokens,
                    **cache_counts,
                    "output_tokens": scenario.output_tokens,
                },
            },
            "message_delta",
        ),
        _Event({"type": "message_stop"}, "message_stop"),
    ]
    return events


# -- the server -------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # LLMServer.stop() joins the handler threads itself, with a timeout

    def __init__(self, owner: LLMServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"llm-server-conn-{client_address[1]}",
            daemon=True,
        )
        self.owner._track(thread, request)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # a client hung up, or an idle keep-alive connection timed out
        self.owner._record_error(traceback.format_exc())

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.owner._untrack(threading.current_thread(), request)


@dataclass
class LLMServer:
    """A running loopback server: set the scenario, point clients at ``base_url``."""

    default: Scenario = field(default_factory=Scenario)
    overrides: dict[str, Scenario] = field(default_factory=dict)
    requests: list[ReceivedRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Tracebacks of exceptions raised while handling a request (a bug in this server)."""

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._httpd = _HTTPServer(self)
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="llm-server",
            daemon=True,
        )
        self._serve_thread.start()

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: Anthropic's ``base_url``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``<base_url>/v1``: OpenAI's ``base_url``."""
        return f"{self.base_url}/v1"

    # -- scenario ---------------------------------------------------------------------------

    def configure(self, endpoint: str | None = None, **changes: Any) -> Scenario:
        """Change the scenario for every endpoint, or (``endpoint=``) for one only."""
        with self._lock:
            if endpoint is None:
                self.default = replace(self.default, **changes)
                return self.default
            if endpoint not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
            scenario = replace(self.overrides.get(endpoint, self.default), **changes)
            self.overrides[endpoint] = scenario
            return scenario

    def scenario_for(self, endpoint: str) -> Scenario:
        with self._lock:
            return self.overrides.get(endpoint, self.default)

    def reset(self) -> None:
        """Back to the default scenario, with no requests or errors recorded."""
        with self._lock:
            self.default = Scenario()
            self.overrides.clear()
            self.requests.clear()
            self.errors.clear()

    def requests_to(self, endpoint: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == endpoint]

    # -- bookkeeping --------------------------------------------------------------------------

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def _track(self, thread: threading.Thread, conn: socket.socket) -> None:
        with self._lock:
            self._connections[thread] = conn

    def _untrack(self, thread: threading.Thread, conn: socket.socket) -> None:
        with self._lock:
            self._connections.pop(thread, None)

    # -- stopping -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop accepting, end every open connection and wait (bounded) for the handlers."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._serve_thread.join(_JOIN_TIMEOUT_S)
        with self._lock:
            open_connections = dict(self._connections)
        for conn in open_connections.values():
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        for thread in open_connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in open_connections if t.is_alive()]
        if stuck or self._serve_thread.is_alive():
            raise RuntimeError(f"the LLM test server did not stop: {stuck}")


@contextlib.contextmanager
def serve(scenario: Scenario | None = None) -> Iterator[LLMServer]:
    """Run an :class:`LLMServer` on 127.0.0.1 (a free port) for the ``with`` block."""
    server = LLMServer(default=scenario or Scenario())
    try:
        yield server
    finally:
        server.stop()
