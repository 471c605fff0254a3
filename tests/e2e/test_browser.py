"""What a person sees: the chat, the help page with its widget, a phone-sized chat, hostile documents.

Gradio keeps a connection open, so these tests wait for elements, never for network idle.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ask_in_chat
from tests.e2e.conftest import LIGHTHOUSE_QUESTION, UNICEF_QUESTION

pytestmark = pytest.mark.browser


def _no_script_links(page: Any) -> None:
    for frame in page.frames:
        assert frame.locator('a[href^="javascript" i]').count() == 0


def test_chat_shows_cited_answer_with_highlighted_quote(
    page: Any, server_url: str, dialogs: list[str], screenshots: Path
) -> None:
    ask_in_chat(page, server_url, UNICEF_QUESTION)
    bot = page.locator("#cl-chatbot [data-testid='bot']").last
    assert re.search(r"1\.2 million", bot.inner_text())
    assert re.search(r"\[\d+\]", bot.inner_text())
    sources = page.locator("#cl-sources")
    mark = sources.locator("mark").first.inner_text()
    assert mark and mark in page.locator("#cl-sources .cl-passage").first.inner_text()
    assert "UNICEF" in sources.inner_text()
    page.screenshot(path=str(screenshots / "chat.png"), full_page=True)
    assert dialogs == []


def test_notes_are_information_and_only_differing_sources_warn(page: Any, server_url: str, screenshots: Path) -> None:
    # One question answered, one naming what the documents never mention: the note informs.
    ask_in_chat(page, server_url, "When did UNICEF make its call? What did Ofcom do about Grok?")
    panel = page.locator("#cl-sources")
    assert panel.locator(".cl-info").inner_text() == "ℹ️ The documents never mention “Ofcom”."
    assert panel.locator(".cl-conflict").count() == 0
    assert "ℹ️ The documents never mention" in page.locator("#cl-chatbot [data-testid='bot']").last.inner_text()
    # Sources that disagree are a warning.
    page.locator("#cl-question textarea").fill("How many authorities signed the joint statement?")
    page.locator("#cl-ask").click()
    panel.locator(".cl-conflict").wait_for()
    assert panel.locator(".cl-conflict").inner_text().startswith("⚠️ The sources differ")
    page.screenshot(path=str(screenshots / "chat-notes.png"), full_page=True)


def test_example_question_is_clickable_on_empty_chat(page: Any, server_url: str) -> None:
    page.goto(f"{server_url}/chat/")
    page.get_by_text("Which countries restricted Grok?").first.click()
    page.locator("#cl-sources mark").first.wait_for()
    user = page.locator("#cl-chatbot [data-testid='user']").last.inner_text()
    assert "Grok" in user


def test_thumbs_down_with_comment_is_saved_as_feedback(page: Any, server_url: str, e2e_root: Path) -> None:
    feedback = e2e_root / "data" / "feedback.jsonl"
    ask_in_chat(page, server_url, UNICEF_QUESTION)
    page.locator("#cl-chatbot button[aria-label='Dislike']").last.click()
    comment = page.locator("#cl-comment textarea")
    comment.wait_for()
    comment.fill("Only 11 countries were surveyed.")
    page.get_by_role("button", name="Send feedback").click()
    comment.wait_for(state="hidden")
    deadline = time.monotonic() + 10
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if feedback.exists():
            records = [json.loads(line) for line in feedback.read_text().splitlines() if line.strip()]
            if any(r["comment"] for r in records):
                break
        time.sleep(0.2)
    mine = [r for r in records if r["question"] == UNICEF_QUESTION]
    assert [r["comment"] for r in mine][-2:] == ["", "Only 11 countries were surveyed."]
    assert "1.2 million" in mine[-1]["answer"] and mine[-1]["citations"]
    assert mine[0]["feedback_id"] == mine[-1]["feedback_id"]


def test_hostile_document_renders_as_text_in_chat(page: Any, server_url: str, dialogs: list[str]) -> None:
    ask_in_chat(page, server_url, LIGHTHOUSE_QUESTION)
    sources = page.locator("#cl-sources").inner_text()
    assert "<script>alert(1)</script>" in sources  # shown as text, not run
    page.wait_for_timeout(500)
    assert dialogs == []
    _no_script_links(page)


def test_help_page_widget_answers_with_sources(
    page: Any, server_url: str, dialogs: list[str], screenshots: Path
) -> None:
    page.goto(f"{server_url}/example")
    launcher = page.get_by_role("button", name="Open Help chat")
    launcher.click()
    frame = page.frame_locator("iframe.citeline-frame")
    box = frame.locator("#cl-q")
    box.fill(UNICEF_QUESTION)
    box.press("Enter")
    frame.locator(".cl-source mark").first.wait_for()
    answer = frame.locator(".cl-bot").last.inner_text()
    assert "1.2 million" in answer
    page.screenshot(path=str(screenshots / "widget.png"))
    # A refusal says why, as information: the documents never mention AMD.
    box.fill("What did AMD's stock do?")
    box.press("Enter")
    note = frame.locator(".cl-bot.cl-refused .cl-note").last
    note.wait_for()
    assert note.inner_text() == "ℹ️ The documents never mention “AMD”."
    # Sources that disagree are a warning, styled apart from information.
    box.fill("How many authorities signed the joint statement?")
    box.press("Enter")
    warning = frame.locator(".cl-bot .cl-note.cl-warning").last
    warning.wait_for()
    assert warning.inner_text().startswith("⚠️ The sources differ")
    assert frame.locator(".cl-bot").last.locator(".cl-note:not(.cl-warning)").count() == 0
    # Esc inside the frame closes the panel and gives focus back to the launcher.
    box.press("Escape")
    page.locator("#citeline-panel").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.className") == "citeline-launcher"
    assert dialogs == []


def test_hostile_document_renders_as_text_in_widget(page: Any, server_url: str, dialogs: list[str]) -> None:
    page.goto(f"{server_url}/example")
    page.get_by_role("button", name="Open Help chat").click()
    frame = page.frame_locator("iframe.citeline-frame")
    frame.locator("#cl-q").fill(LIGHTHOUSE_QUESTION)
    frame.locator("#cl-q").press("Enter")
    frame.locator(".cl-source mark").first.wait_for()
    assert "<script>alert(1)</script>" in frame.locator(".cl-bot").last.inner_text()
    page.wait_for_timeout(500)
    assert dialogs == []
    _no_script_links(page)


def test_phone_sized_chat_fits_the_screen(browser: Any, server_url: str, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        ask_in_chat(page, server_url, UNICEF_QUESTION)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        page.screenshot(path=str(screenshots / "chat-phone.png"), full_page=True)
    finally:
        context.close()


def test_gradio_client_gets_a_cited_answer(server_url: str) -> None:
    from gradio_client import Client

    client = Client(f"{server_url}/chat/", verbose=False)
    result = client.predict(UNICEF_QUESTION, api_name="/ask")
    assert result["citations"] and not result["refused"]
    assert all(f"[{c['n']}]" in result["answer"] for c in result["citations"])
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


def test_health_counts_the_ingested_documents(server_url: str) -> None:
    import httpx

    health = httpx.get(f"{server_url}/api/health", timeout=10).json()
    assert health["status"] == "ok"
    assert health["documents"] == 4  # the 3 corpus articles + the hostile document
    assert health["chunks"] >= health["documents"]
