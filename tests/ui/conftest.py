"""Fixtures for the server and chat tests: a fake chain and an app around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.config import Settings
from tests.ui.fake_chain import FakeChain

ALLOWED = "https://help.example.com"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", allowed_origins=[ALLOWED], max_question_chars=200)


@pytest.fixture
def fake_chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
def app(settings: Settings, fake_chain: FakeChain) -> FastAPI:
    from ui.server import create_app

    return create_app(settings, fake_chain)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """Base URL of `app` (the fake chain's server) served by uvicorn on a free loopback port."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def outside_requests() -> list[str]:
    """URLs the page tried to fetch from anywhere but this machine (each was refused)."""
    return []


@pytest.fixture
def page(browser: Any, live_url: str, outside_requests: list[str]) -> Iterator[Any]:
    """A fresh page allowed to use the clipboard; requests off this machine are recorded and refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)

    def refuse(route: Any) -> None:
        outside_requests.append(route.request.url)
        route.abort()

    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "localhost"), refuse)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


class HostSite:
    """Another website on this machine: every path serves `html` (set it before a page loads)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.html = "<!doctype html><title>host</title>"

    def url(self, hostname: str = "127.0.0.1") -> str:
        """The page's URL; 127.0.0.1 and localhost are two origins (both on loopback, as Chromium
        lets a page on loopback embed a loopback server; a public origin may not)."""
        return f"http://{hostname}:{self.port}/help"


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    """A help site of someone else's, embedding the widget, on its own loopback port."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    site: HostSite

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.html.encode() if self.path == "/help" else b""
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site = HostSite(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
