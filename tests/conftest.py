"""Shared fixtures: every test runs offline (loopback only) with HF/Gradio phoning home disabled."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False
    return isinstance(address, (str, bytes))  # AF_UNIX paths


def _guarded_connect(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise OSError(f"test tried to reach the network: {address!r} (tests are offline; loopback only)")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    for key in list(os.environ):
        if key.startswith("CITELINE_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def minilm() -> object:
    """The real bundled MiniLM, loaded once for the whole test session."""
    from assistant.embeddings import BundledMiniLM

    model = BundledMiniLM()
    model.embed_query("warm up")
    return model


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (never a downloaded browser), one for the whole run:
    Playwright's sync API runs one instance per thread, so tests/ui and tests/e2e share it."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def ask_in_chat(page: Any, base: str, question: str) -> None:
    """Ask `question` in the Gradio chat at `base` and wait for its sources to show."""
    page.goto(f"{base}/chat/")
    box = page.locator("#cl-question textarea")
    box.wait_for()
    box.fill(question)
    page.locator("#cl-ask").click()
    page.locator("#cl-sources mark").first.wait_for()


@contextmanager
def fresh_logging() -> Iterator[None]:
    """Logging as in a new `citeline` process: pytest's own handlers off the root logger meanwhile."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
