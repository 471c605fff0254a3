"""The Gradio chat in chromium, against the fake chain's server: what a person sees and copies.

Gradio keeps a connection open, so these tests wait for elements, never for network idle.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ask_in_chat
from tests.ui.fake_chain import EXPENSES_QUOTE

pytestmark = pytest.mark.browser

#: A question that is Markdown and markup to a renderer; "expense" picks the fake chain's answer.
MARKDOWN_QUESTION = 'What do expense claims need? **now** [see](https://evil.example/q) <i>"please"</i> & thanks'


def test_chat_shows_document_text_and_the_question_as_written(
    page: Any, live_url: str, outside_requests: list[str]
) -> None:
    ask_in_chat(page, live_url, MARKDOWN_QUESTION)
    bot = page.locator("#cl-chatbot [data-testid='bot']").last
    # The quote reads exactly as the document has it: no link, no image, no bold, no maths.
    assert bot.inner_text().strip() == f"{EXPENSES_QUOTE} [1]"
    assert bot.locator("a, img, strong, em, b, i, .katex").count() == 0
    user = page.locator("#cl-chatbot [data-testid='user']").last
    assert user.inner_text().strip() == MARKDOWN_QUESTION
    assert user.locator("a, strong, i").count() == 0
    page.wait_for_timeout(300)
    assert [u for u in outside_requests if "evil.example" in u] == []  # no tracking pixel was fetched


def _clipboard(page: Any, expected: str) -> str:
    """The clipboard's text once it equals `expected`, else what it holds after 3 s."""
    text = ""
    for _ in range(30):
        text = page.evaluate("navigator.clipboard.readText()")
        if text == expected:
            break
        page.wait_for_timeout(100)
    return text


def test_copy_button_copies_the_text_as_shown(page: Any, live_url: str) -> None:
    ask_in_chat(page, live_url, MARKDOWN_QUESTION)
    copy = page.locator("#cl-chatbot button[aria-label='Copy message']")
    copy.last.click()  # the answer: '"audit"', '<b>AT&T</b>' and '&amp;', not '&quot;' or '&lt;b&gt;'
    answer = f"{EXPENSES_QUOTE} [1]"
    assert _clipboard(page, answer) == answer
    copy.first.click()  # the question
    assert _clipboard(page, MARKDOWN_QUESTION) == MARKDOWN_QUESTION


def test_copy_button_copies_the_text_without_the_clipboard_api(page: Any, live_url: str) -> None:
    # On plain http from another host there is no navigator.clipboard; Gradio then copies a
    # selected textarea with execCommand("copy"). Record what that copy puts on the clipboard.
    page.add_init_script("delete Navigator.prototype.clipboard;")
    ask_in_chat(page, live_url, MARKDOWN_QUESTION)
    page.evaluate(
        """() => window.addEventListener("copy", (ev) => {
            const box = ev.target;
            window.__copied = ev.defaultPrevented ? ev.clipboardData.getData("text/plain")
                : box.value.slice(box.selectionStart, box.selectionEnd);
        })"""
    )
    page.locator("#cl-chatbot button[aria-label='Copy message']").last.click()
    page.wait_for_function("window.__copied !== undefined")
    assert page.evaluate("window.__copied") == f"{EXPENSES_QUOTE} [1]"
