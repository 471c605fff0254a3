"""Fixtures for the server and chat tests: a fake chain and an app around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (never a downloaded browser)."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def outside_requests() -> list[str]:
    """URLs the page tried to fetch from anywhere but the test server (each was refused)."""
    return []


@pytest.fixture
def page(browser: Any, live_url: str, outside_requests: list[str]) -> Iterator[Any]:
    """A fresh page allowed to use the clipboard; requests off the test server are recorded and refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)

    def refuse(route: Any) -> None:
        outside_requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(live_url + "/"), refuse)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
