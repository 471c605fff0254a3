"""Browser tests: the REAL server (real store, real chain, real model) driven by Debian's chromium.

A session fixture ingests corpus/ plus one hostile document into a temp data dir, starts
`python -m ui.cli serve` on a free loopback port, and waits for /api/health.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CORPUS, REPO

SCREENSHOTS = REPO / "docs" / "screenshots"

#: A help page whose text shows markup (entity-encoded in the page, as a page about HTML would):
#: the stored text holds a real `<script>` etc., the worst case for the UI. (In a .txt file such
#: markup is leftover noise and the cleaner drops it.)
MALICIOUS_DOC = """<html><head><title>Harbour Point lighthouse keeper's manual</title></head><body><main>
<h1>Harbour Point lighthouse keeper's manual</h1>
<p>The Harbour Point lighthouse lamp is polished every Tuesday morning by the duty keeper
&lt;script&gt;alert(1)&lt;/script&gt; before the evening watch begins.</p>
<p>The lighthouse fog horn at Harbour Point is tested monthly &lt;img src=x onerror=alert(2)&gt;
during calm weather.</p>
<p>Visitors can read the lighthouse logbook online at [the logbook](javascript:alert(3)) or
&lt;a href="javascript:alert(3)"&gt;this link&lt;/a&gt; every weekend.</p>
</main></body></html>
"""

LIGHTHOUSE_QUESTION = "How often is the Harbour Point lighthouse lamp polished?"
UNICEF_QUESTION = "How many children were affected by sexual deepfakes according to UNICEF?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITELINE_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=str(REPO),
    )
    return env


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Temp folder holding the e2e documents (docs/), store (data/) and server.log."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def server_url(e2e_root: Path) -> Iterator[str]:
    """Base URL of a real `citeline serve` over corpus/ + the hostile document."""
    root = e2e_root
    docs, data = root / "docs", root / "data"
    shutil.copytree(CORPUS, docs)
    (docs / "lighthouse-manual.html").write_text(MALICIOUS_DOC, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", str(docs), "--data-dir", str(data), "--quiet"],
        cwd=REPO,
        env=_env(),
        check=True,
        timeout=300,
        capture_output=True,
    )
    port = _free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--data-dir", str(data), "--port", str(port)],
        cwd=REPO,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy in time: {(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def dialogs() -> list[str]:
    """Messages of every JS dialog (alert/confirm/prompt) a page opened; must stay empty."""
    return []


@pytest.fixture
def page(browser: Any, dialogs: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots: a temporary folder, or the README's
    docs/screenshots/ with CITELINE_UPDATE_SCREENSHOTS=1 (a test run leaves the checkout clean)."""
    if os.environ.get("CITELINE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
