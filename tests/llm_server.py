"""A tiny scripted OpenAI-compatible server on 127.0.0.1, for testing the real ChatOpenAI client.

It speaks POST /v1/chat/completions, non-streaming (one JSON body) and streaming (SSE
``data: {...}`` chunks, then ``data: [DONE]``), and replays its script in order, one entry
per request (the last entry repeats). An entry is the reply text, a `Hang` (accept the
request, never answer: exercises the client timeout) or a `Fail` (an HTTP error status with
an OpenAI-style error body). Every request body is recorded in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Hang:
    """Accept the request and send nothing for `seconds` (the client should time out first)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Fail:
    """Answer with HTTP `status` and an OpenAI-style error whose message is `message`."""

    status: int
    message: str
    code: str | None = None


Reply = str | Hang | Fail


class ScriptedLLMServer:
    """Context manager: ``with ScriptedLLMServer(["Hello [1]."]) as srv: srv.base_url ...``."""

    def __init__(self, script: list[Reply]) -> None:
        if not script:
            raise ValueError("script needs at least one reply")
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-llm", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ends in /v1)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()  # wakes hanging handlers so shutdown does not wait for them
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            index = min(len(self.requests), len(self.script) - 1)
            self.requests.append(body)
            self.headers.append(headers)
            return self.script[index]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = server._next(body, {k.lower(): v for k, v in self.headers.items()})
                if isinstance(reply, Hang):
                    server._closing.wait(reply.seconds)
                    return
                if isinstance(reply, Fail):
                    error = {"message": reply.message, "type": "invalid_request_error", "code": reply.code}
                    self._json(reply.status, {"error": error})
                    return
                model = str(body.get("model", "scripted"))
                if body.get("stream"):
                    self._sse(model, reply)
                else:
                    self._json(200, _completion(model, reply))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, model: str, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                pieces = [w + " " for w in text.split(" ")]
                pieces[-1] = pieces[-1][:-1]
                for i, piece in enumerate(pieces):
                    delta: dict[str, Any] = {"content": piece}
                    if i == 0:
                        delta["role"] = "assistant"
                    self._event(_chunk(model, delta, None))
                self._event(_chunk(model, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
