"""The help-site widget in chromium, against the fake chain's server."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


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
