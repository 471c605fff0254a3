"""One server: the JSON / streaming HTTP API, the Gradio chat at /chat, and the help-site widget.

    GET  /                 -> redirect to /chat/
    GET  /chat/            the Gradio chat (only its public `ask` endpoint is listed in its API info)
    POST /api/ask          {"question", "history": [str]} -> Answer JSON (same as `citeline ask --json`)
    POST /api/ask/stream   server-sent events: `delta` {"text"} ..., then `answer` <Answer JSON>
                           (or `error` {"error"})
    GET  /api/health       {"status": "ok", "documents", "chunks"}
    GET  /widget.js        the one-line embed script; /widget the compact chat page it frames
    GET  /example          an example help page embedding the widget

`create_app` is pure (it takes a built chain); `serve` builds the chain once and runs uvicorn.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import threading
import time
import webbrowser
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.config import Settings
from assistant.types import Answer, AnswerDelta, Question
from ui.ask_request import MAX_HISTORY_ITEMS, BadRequest, ask_question
from ui.feedback import FeedbackStore

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent / "widget"
CHAT_PATH = "/chat"
#: In widget.html, replaced by settings.max_question_chars (the question box's maxlength).
MAX_QUESTION_CHARS_MARK = "__CITELINE_MAX_QUESTION_CHARS__"

#: Largest request body accepted by the ask endpoints, in bytes.
MAX_BODY_BYTES = 256_000

# Gradio routes the chat does not need: uploads, file serving, proxies, media streams,
# monitoring, run history, the vibe editor, MCP. Checked against the path below /chat.
_BLOCKED_GRADIO_PREFIXES: tuple[str, ...] = (
    *(
        f"/gradio_api/{p}"
        for p in (
            "upload",
            "file=",
            "file/",
            "proxy=",
            "stream/",
            "process_recording",
            "component_server",
            "custom_component",
            "vibe-",
            "undo-vibe-edit",
            "run-history",
            "runs",
            "monitoring",
            "profiling",
            "dev/",
            "deep_link",
            "mcp",
        )
    ),
    "/file=",
    "/proxy=",
    "/monitoring",
    "/login",
    "/logout",
)

_ASK_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["question"],
    "properties": {
        "question": {"type": "string", "minLength": 1},
        "history": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_HISTORY_ITEMS},
    },
}
_ASK_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _ASK_BODY_SCHEMA}}}
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# Headers the guard sets; any the inner app set are replaced, not duplicated.
_OUR_HEADERS = (b"x-frame-options", b"x-content-type-options", b"referrer-policy", b"content-security-policy")


class _GuardMiddleware:
    """Closes unused Gradio routes and adds security headers to every response.

    Pure ASGI (not BaseHTTPMiddleware) so server-sent events stream through unbuffered.
    """

    def __init__(self, app: ASGIApp, widget_frame_ancestors: str) -> None:
        self.app = app
        self.widget_csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; "
            f"frame-ancestors {widget_frame_ancestors}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_path: str = scope.get("path", "")
        # Normalise so "//", "/./" and "/x/../" spellings cannot slip past the prefix check.
        path = posixpath.normpath(re.sub(r"/{2,}", "/", raw_path)) if raw_path else raw_path
        if path.startswith(CHAT_PATH + "/") and path[len(CHAT_PATH) :].startswith(_BLOCKED_GRADIO_PREFIXES):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = JSONResponse({"error": "not found"}, status_code=404)
            await self._with_headers(response, path)(scope, receive, send)
            return
        csp = self.widget_csp if path in ("/widget", "/widget/") else "frame-ancestors 'self'"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OUR_HEADERS]
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"content-security-policy", csp.encode()),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _with_headers(self, response: Response, path: str) -> Response:
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["content-security-policy"] = "frame-ancestors 'self'"
        return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> bytes:
    """The body of a request sent as JSON; raises BadRequest (415) for any other Content-Type.

    A text/plain, form or untyped POST is a "simple" cross-origin request that any website can
    make without a CORS preflight; requiring application/json means the browser asks first, and
    only CITELINE_ALLOWED_ORIGINS are let through.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest(415, 'send the request body as JSON, with the header "Content-Type: application/json"')
    return await request.body()


def parse_ask_body(raw: bytes, settings: Settings) -> Question:
    """Validate a POST /api/ask body (size, JSON, then `ask_question`); raises BadRequest with a
    message a client can act on."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest(
            400, 'request body must be JSON like {"question": "...", "history": ["earlier question"]}'
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(400, 'request body must be a JSON object like {"question": "..."}')
    return ask_question(data.get("question"), data.get("history"), settings)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _stream_events(chain: Any, question: Question) -> Iterator[str]:
    """SSE lines for one streamed answer; failures become an `error` event, never a traceback."""
    try:
        final: Answer | None = None
        for piece in chain.stream(question):
            if isinstance(piece, AnswerDelta):
                yield _sse("delta", {"text": piece.text})
            elif isinstance(piece, Answer):
                final = piece
        if final is None:
            raise RuntimeError("the chain finished without an answer")
        yield _sse("answer", final.to_json())
    except Exception:
        logger.exception("streaming answer failed")
        yield _sse("error", {"error": "answering failed; please try again"})


class _HealthCounts:
    """Document/chunk counts, recomputed only when the store's revision changes."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self._revision: str | None = None
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self) -> dict[str, int]:
        if self.index is None:
            return {}
        with self._lock:
            revision = self.index.revision()
            if revision != self._revision:
                chunks = self.index.all_chunks()
                self._counts = {"documents": len({c.doc_id for c in chunks}), "chunks": len(chunks)}
                self._revision = revision
            return dict(self._counts)


def _read_asset(name: str) -> str:
    return (WIDGET_DIR / name).read_text(encoding="utf-8")


def create_app(settings: Settings, chain: Any, *, feedback: FeedbackStore | None = None) -> FastAPI:
    """The FastAPI app: API + Gradio chat + widget, around an already built chain (no model loading)."""
    import gradio as gr

    from ui.chat import CHAT_CSS, CHAT_JS, build_chat, chain_index

    app = FastAPI(title="citeline", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    health = _HealthCounts(chain_index(chain))
    # route -> (file in ui/widget/, media type); read once at start, served from memory.
    assets = {
        route: (_read_asset(name), media)
        for route, (name, media) in {
            "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
            "/widget": ("widget.html", "text/html; charset=utf-8"),
            "/widget/app.js": ("widget-app.js", "text/javascript; charset=utf-8"),
            "/widget/widget.css": ("widget.css", "text/css; charset=utf-8"),
            "/example": ("example.html", "text/html; charset=utf-8"),
        }.items()
    }
    # The widget's question box holds no more than the server accepts.
    page, media = assets["/widget"]
    assets["/widget"] = (page.replace(MAX_QUESTION_CHARS_MARK, str(settings.max_question_chars)), media)

    @app.exception_handler(BadRequest)
    async def _bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return _error(500, "internal error; the server log has details")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(url=f"{CHAT_PATH}/", status_code=307)

    @app.get("/api/health")
    async def api_health() -> dict[str, Any]:
        """Liveness, with document and chunk counts."""
        counts = await run_in_threadpool(health.get)
        return {"status": "ok", **counts}

    @app.post("/api/ask", openapi_extra=_ASK_OPENAPI)
    async def api_ask(request: Request) -> JSONResponse:
        """A cited answer: {"answer", "refused", "citations", "notes", "warnings", "timings_ms"}."""
        question = parse_ask_body(await _json_body(request), settings)
        # The chain is sync and CPU-bound: run it off the event loop so other requests keep flowing.
        answer: Answer = await run_in_threadpool(chain.invoke, question)
        return JSONResponse(answer.to_json())

    @app.post("/api/ask/stream", openapi_extra=_ASK_OPENAPI)
    async def api_ask_stream(request: Request) -> StreamingResponse:
        """Server-sent events: `delta` {"text"} pieces, then one `answer` with citations."""
        question = parse_ask_body(await _json_body(request), settings)
        # A sync iterator: Starlette pulls it in a threadpool.
        return StreamingResponse(
            _stream_events(chain, question),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def _asset_route(route: str) -> None:
        body, media = assets[route]

        async def serve_asset() -> Response:
            return Response(body, media_type=media)

        app.get(route, include_in_schema=False)(serve_asset)

    for route in assets:
        _asset_route(route)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    blocks = build_chat(chain, settings, feedback)
    app = gr.mount_gradio_app(
        app,
        blocks,
        path=CHAT_PATH,
        css=CHAT_CSS,
        js=CHAT_JS,
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        show_error=False,
        server_name=settings.host,
        server_port=settings.port,
    )
    # Added last so they wrap everything, the Gradio mount included.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    ancestors = " ".join(["'self'", *settings.allowed_origins])
    app.add_middleware(_GuardMiddleware, widget_frame_ancestors=ancestors)
    return app


#: Asked once before the server accepts requests (its answer is discarded).
WARM_UP_QUESTION = "What do these documents say?"


def warm_up(chain: Any) -> None:
    """Answer one question before serving: the embedding model loads (it is lazy) and the BM25
    index and caches are built now, so no user's request pays for them."""
    started = time.perf_counter()
    chain.invoke({"question": WARM_UP_QUESTION, "history": []})
    logger.info("model loaded and indexes built in %.1f s", time.perf_counter() - started)


def serve(settings: Settings, *, open_browser: bool = False) -> None:
    """Load the chain once, then serve the chat, widget and API on settings.host:settings.port."""
    import uvicorn

    from assistant.chain import load_chain

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    chain = load_chain(settings)
    warm_up(chain)
    app = create_app(settings, chain)
    url = f"http://{settings.host}:{settings.port}{CHAT_PATH}/"
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
    server = uvicorn.Server(config)
    if open_browser:

        def _open_when_up() -> None:
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
                    return
                threading.Event().wait(0.1)

        threading.Thread(target=_open_when_up, daemon=True).start()
    logger.info("citeline serving %s (widget: /widget.js, example: /example, API: /api/ask)", url)
    server.run()
