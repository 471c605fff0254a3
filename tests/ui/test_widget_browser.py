"""The help-site widget in chromium, against the fake chain's server: on our example page and
on another site's page, allowed in CITELINE_ALLOWED_ORIGINS or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.ui.conftest import ALLOWED, HostSite

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path, host_site: HostSite) -> Settings:
    # The host site is allowed at 127.0.0.1; the same page at localhost is another origin, not allowed.
    return Settings(
        data_dir=tmp_path / "data",
        allowed_origins=[ALLOWED, f"http://127.0.0.1:{host_site.port}"],
        max_question_chars=200,
    )


def _open_widget(page: Any, url: str) -> Any:
    page.goto(url)
    page.get_by_role("button", name="Open Help chat").click()
    return page.frame_locator("iframe.citeline-frame")


def test_widget_keeps_the_question_when_answering_fails(page: Any, live_url: str) -> None:
    frame = _open_widget(page, f"{live_url}/example")
    box = frame.locator("#cl-q")
    box.fill("boom: what went wrong?")
    box.press("Enter")
    frame.locator(".cl-bot.cl-error").wait_for()
    assert box.input_value() == "boom: what went wrong?"  # still there to fix or send again
    box.fill("How many children?")
    box.press("Enter")
    frame.locator(".cl-source mark").first.wait_for()
    assert box.input_value() == ""  # answered: ready for the next question


def test_widget_question_box_holds_at_most_what_the_server_accepts(page: Any, live_url: str) -> None:
    frame = _open_widget(page, f"{live_url}/example")
    box = frame.locator("#cl-q")
    assert box.get_attribute("maxlength") == "200"  # settings.max_question_chars
    box.fill("x" * 250)
    assert len(box.input_value()) == 200
    # Were a longer one sent anyway, the server's error is shown and the question is kept.
    box.evaluate("el => el.removeAttribute('maxlength')")
    box.fill("y" * 201)
    box.press("Enter")
    error = frame.locator(".cl-bot.cl-error")
    error.wait_for()
    assert "the limit is 200" in error.inner_text()
    assert box.input_value() == "y" * 201


def _host_page(live_url: str) -> str:
    return (
        "<!doctype html><html><head><title>Another help site</title></head><body><h1>Help</h1>"
        f'<script src="{live_url}/widget.js" data-title="Help"></script></body></html>'
    )


def test_widget_on_a_site_that_is_not_allowed_says_it_cannot_load(
    page: Any, live_url: str, host_site: HostSite
) -> None:
    host_site.html = _host_page(live_url)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    _open_widget(page, host_site.url("localhost"))
    notice = page.locator("#citeline-panel [role='alert']")
    notice.wait_for()
    assert "could not be loaded" in notice.inner_text()
    assert page.locator("iframe.citeline-frame").is_hidden()  # not Chromium's broken-frame icon
    # The site's developer is told which setting to change, and for which origin.
    hint = [line for line in console if "CITELINE_ALLOWED_ORIGINS" in line]
    assert hint and f"http://localhost:{host_site.port}" in hint[0] and hint[0].startswith("error")


def test_widget_on_an_allowed_site_answers_without_console_warnings(
    page: Any, live_url: str, host_site: HostSite
) -> None:
    host_site.html = _host_page(live_url)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    frame = _open_widget(page, host_site.url())
    box = frame.locator("#cl-q")
    box.fill("How many children?")
    box.press("Enter")
    frame.locator(".cl-source mark").first.wait_for()
    assert "1.2 million" in frame.locator(".cl-bot").last.inner_text()
    page.wait_for_timeout(2500)  # past the time the widget gives the frame to say it is ready
    assert page.locator("#citeline-panel [role='alert']").count() == 0
    # widget.js had posted "focus" to the frame before it loaded: a postMessage origin warning.
    assert [line for line in console if "postMessage" in line] == []
