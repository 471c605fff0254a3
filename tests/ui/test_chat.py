"""The Gradio chat's handlers and sources panel, called directly (no browser)."""

from __future__ import annotations

import html
import json
import threading
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from assistant.config import Settings
from assistant.types import CONFLICT_NOTE, REFUSAL_TEXT, Answer, Citation, Question
from tests.ui.fake_chain import FakeChain
from ui.chat import ChatHandlers, format_answer_text, render_sources, safe_url
from ui.feedback import FeedbackStore


def _run(handlers: ChatHandlers, question: str, messages: Any = None, turns: Any = None) -> list[tuple]:
    return list(handlers.respond(question, messages or [], turns or []))


def test_malicious_quote_title_and_url_are_escaped_in_sources(fake_chain: FakeChain) -> None:
    answer = fake_chain.invoke(Question("Tell me about the lighthouse"))
    page = render_sources(answer, fake_chain.index.get_document)
    assert "<script" not in page and "<img" not in page
    assert 'href="javascript' not in page  # neither the citation's url nor the document's link
    assert "<a " not in page  # a javascript: url is never made a link
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; Lighthouse" in page
    # The quote is highlighted inside its surrounding stored passage.
    assert "<mark>The lighthouse lamp is cleaned every Tuesday &lt;img" in page
    assert "Keepers log every visit." in page


def test_sources_show_passage_context_and_only_http_links(fake_chain: FakeChain) -> None:
    answer = fake_chain.invoke(Question("Where do sources disagree?"))
    page = render_sources(answer, fake_chain.index.get_document)
    assert page.count('class="cl-source"') == 2
    assert 'href="https://example.org/u"' in page and 'rel="noopener noreferrer nofollow"' in page
    assert "unicef.txt" in page  # citation without url shows its source path
    assert "cl-conflict" in page  # the "sources differ" note is styled apart
    assert "Research shows 1.2 million" in page  # context around quote [1]


def test_adjacent_quotes_share_one_card_with_each_highlight_numbered(fake_chain: FakeChain) -> None:
    index = fake_chain.index
    text = index.docs["unicef"].text
    first, second = "UNICEF issued an urgent global call on Wednesday.", "The agency urged governments to act."
    citations = tuple(
        Citation(n, "unicef", "UNICEF urges action", "unicef.txt", q, text.index(q), text.index(q) + len(q))
        for n, q in ((1, first), (2, second))
    )
    page = render_sources(Answer(f"{first} [1] {second} [2]", False, citations), index.get_document)
    # One passage, not two near-identical ones: both quotes highlighted in it, each numbered.
    assert page.count('class="cl-source"') == 1
    assert page.count("Research shows 1.2 million") == 1
    assert '<span class="cl-n">[1]</span><span class="cl-n">[2]</span>' in page
    assert f'<mark>{first}</mark><sup class="cl-ref">[1]</sup> Research shows' in page
    assert f'<mark>{second}</mark><sup class="cl-ref">[2]</sup>' in page
    # A single quote's card needs no numbered highlight.
    single = render_sources(Answer(f"{first} [1]", False, citations[:1]), index.get_document)
    assert "cl-ref" not in single and f"<mark>{first}</mark> Research shows" in single


def test_sources_fall_back_to_hit_text_without_a_document(fake_chain: FakeChain) -> None:
    answer = fake_chain.invoke(Question("How many children?"))
    page = render_sources(answer, get_document=lambda _doc_id: None)
    assert "<mark>Research shows" in page


def test_refusal_looks_distinct(fake_chain: FakeChain) -> None:
    answer = fake_chain.invoke(Question("something unknowable"))
    assert answer.refused
    assert "cl-refused" in render_sources(answer, fake_chain.index.get_document)


def test_a_refusal_says_which_names_the_documents_never_mention() -> None:
    answer = Answer(REFUSAL_TEXT, refused=True, notes=("The documents never mention “<b>MySQL</b>”.",))
    bubble = format_answer_text(answer)
    assert bubble == f"ℹ️ {REFUSAL_TEXT} The documents never mention “<b>MySQL</b>”."
    # In the sources panel it is information about the refusal, not a warning that sources differ.
    panel = render_sources(answer)
    assert '<div class="cl-banner cl-info" role="note">ℹ️ The documents never mention “&lt;b&gt;' in panel
    assert "cl-conflict" not in panel


def test_notes_under_an_answer_are_information_unless_they_warn() -> None:
    unanswered = "I couldn't find an answer to “How do I reset my password?” in the documents."
    answer = Answer(
        "Almost 60 authorities signed. [1] More than 50 signed. [2]",
        refused=False,
        notes=(CONFLICT_NOTE, unanswered),
        warnings=(CONFLICT_NOTE,),
    )
    assert format_answer_text(answer).split("\n\n")[1:] == [f"⚠️ {CONFLICT_NOTE}", f"ℹ️ {unanswered}"]
    panel = render_sources(answer)
    assert f'<div class="cl-banner cl-conflict" role="note">⚠️ {CONFLICT_NOTE}</div>' in panel
    assert f'<div class="cl-banner cl-info" role="note">ℹ️ {html.escape(unanswered)}</div>' in panel


def test_safe_url() -> None:
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,x",
        "/relative",
        "",
        None,
        "http:/x",
    ):
        assert safe_url(bad) is None


def test_respond_streams_then_shows_cited_answer_and_sources(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    steps = _run(handlers, "How many children?")
    assert len(steps) > 3  # user bubble, several streamed pieces, final
    box, messages, sources, turns = steps[-1]
    assert box == ""
    assert messages[0] == {"role": "user", "content": "How many children?"}
    assert "1.2 million" in messages[-1]["content"] and "[1]" in messages[-1]["content"]
    assert "<mark>" in sources
    assert turns[0]["question"] == "How many children?" and turns[0]["answer"]["citations"]


def test_follow_up_passes_earlier_questions_and_sessions_do_not_mix(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, msgs, _, turns) = _run(handlers, "Who is UNICEF?")
    _run(handlers, "And how many children?", msgs, turns)
    assert fake_chain.received[-1].history == ("Who is UNICEF?",)
    _run(handlers, "Fresh session question")  # another browser: its own empty state
    assert fake_chain.received[-1].history == ()


def test_chat_bubble_escapes_document_markup(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, messages, _, _) = _run(handlers, "lighthouse?")
    assert "<img" not in messages[-1]["content"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in messages[-1]["content"]


def test_invalid_question_does_not_reach_the_chain(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    steps = _run(handlers, "   ")
    assert len(steps) == 1 and steps[0][1] == []
    assert fake_chain.received == []


def test_chain_failure_shows_a_friendly_message(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, messages, _, turns) = _run(handlers, "boom")
    assert "went wrong" in messages[-1]["content"] and "passwd" not in messages[-1]["content"]
    assert turns == []


def test_thumbs_down_writes_feedback_line_and_comment(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, msgs, _, turns) = _run(handlers, "Who is UNICEF?")
    *_, (_, msgs, _, turns) = _run(handlers, "How many children?", msgs, turns)
    like = gr.LikeData(None, {"index": 3, "value": msgs[3]["content"], "liked": False})
    row, fid = handlers.on_like(turns, like)
    assert row["visible"] is True and fid
    lines = [json.loads(x) for x in settings.feedback_path.read_text().splitlines()]
    assert len(lines) == 1
    rec = lines[0]
    assert rec["question"] == "How many children?" and rec["history"] == ["Who is UNICEF?"]
    assert "1.2 million" in rec["answer"] and rec["citations"][0]["n"] == 1
    assert rec["comment"] == "" and rec["ts"].endswith("Z")
    turns[1]["feedback_id"] = fid
    handlers.send_comment("  The figure is for 11 countries only. ", fid, turns)
    records = FeedbackStore(settings.feedback_path).read()
    assert len(records) == 1 and records[0]["comment"] == "The figure is for 11 countries only."


def test_thumbs_down_after_a_failed_answer_is_recorded_for_the_answer_clicked(
    settings: Settings, fake_chain: FakeChain
) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, msgs, _, turns) = _run(handlers, "boom")  # messages 0-1: the question and the error
    *_, (_, msgs, _, turns) = _run(handlers, "Who is UNICEF?", msgs, turns)  # messages 2-3
    *_, (_, msgs, _, turns) = _run(handlers, "How many children?", msgs, turns)  # messages 4-5
    handlers.on_like(turns, gr.LikeData(None, {"index": 3, "value": msgs[3]["content"], "liked": False}))
    assert [r["question"] for r in FeedbackStore(settings.feedback_path).read()] == ["Who is UNICEF?"]
    # The error message has no answer to report: a thumbs-down on it records nothing more.
    row, fid = handlers.on_like(turns, gr.LikeData(None, {"index": 1, "value": msgs[1]["content"], "liked": False}))
    assert fid is None and row["visible"] is False
    assert len(FeedbackStore(settings.feedback_path).read()) == 1


def _current_votes(settings: Settings) -> dict[str, str]:
    """feedback_id -> the answer's current vote, as a reader of feedback.jsonl sees it (last line wins)."""
    return {r["feedback_id"]: r.get("vote", "down") for r in FeedbackStore(settings.feedback_path).read()}


def test_a_thumbs_down_taken_back_or_turned_up_is_no_longer_a_thumbs_down(
    settings: Settings, fake_chain: FakeChain
) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, msgs, _, turns) = _run(handlers, "How many children?")

    def click(liked: bool | str) -> tuple[dict[str, Any], str | None]:
        return handlers.on_like(turns, gr.LikeData(None, {"index": 1, "value": msgs[1]["content"], "liked": liked}))

    _row, fid = click(False)
    assert fid and _current_votes(settings) == {fid: "down"}
    handlers.send_comment("Only 11 countries.", fid, turns)
    row, pending = click("")  # the thumbs-down clicked again: taken back
    assert row["visible"] is False and pending is None  # the comment box closes
    assert _current_votes(settings) == {fid: "none"}  # the same answer, no longer thumbed down
    click(False)  # thumbed down again: still one record per answer, and its comment is kept
    assert _current_votes(settings) == {fid: "down"}
    assert FeedbackStore(settings.feedback_path).read()[0]["comment"] == "Only 11 countries."
    click(True)  # switched to a thumbs-up
    assert _current_votes(settings) == {fid: "up"}
    # A comment sent after the thumbs-down was withdrawn does not bring it back.
    handlers.send_comment("late comment", fid, turns)
    assert _current_votes(settings) == {fid: "up"}


def test_thumbs_up_writes_nothing(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    *_, (_, _, _, turns) = _run(handlers, "How many children?")
    _row, fid = handlers.on_like(turns, gr.LikeData(None, {"index": 1, "value": "x", "liked": True}))
    assert fid is None and not settings.feedback_path.exists()


def test_feedback_appends_are_thread_safe(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "deep" / "feedback.jsonl")
    answer = {"answer": "x" * 5000, "citations": []}  # long lines are where interleaving would show

    def work(i: int) -> None:
        for j in range(25):
            store.record(question=f"q{i}-{j}", history=[], answer=answer)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "deep" / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 200
    assert {json.loads(line)["question"] for line in lines} == {f"q{i}-{j}" for i in range(8) for j in range(25)}


def test_ask_endpoint_function_returns_wire_json(settings: Settings, fake_chain: FakeChain) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    out = handlers.ask("How many children?", ["Who is UNICEF?"])
    assert out["citations"][0]["quote"] in out["answer"]
    assert fake_chain.received[-1].history == ("Who is UNICEF?",)


@pytest.mark.parametrize(
    ("history", "words"),
    [
        ("UNICEF", "list of strings"),  # was split into six one-letter questions
        (["a", 3], "list of strings"),
        (["q"] * 51, "at most 50"),
        (["y" * 201], "at most 200 characters"),
    ],
)
def test_ask_endpoint_rejects_bad_history_like_the_http_api(
    settings: Settings, fake_chain: FakeChain, history: Any, words: str
) -> None:
    handlers = ChatHandlers(fake_chain, settings)
    with pytest.raises(gr.Error) as exc:
        handlers.ask("How many children?", history)
    assert words in exc.value.message
    assert fake_chain.received == []


def test_ask_endpoint_through_gradio_client_gets_the_same_error_as_the_api(live_url: str) -> None:
    from gradio_client import Client

    client = Client(f"{live_url}/chat/", verbose=False)
    with pytest.raises(Exception, match="history"):
        client.predict("How many children?", "UNICEF", api_name="/ask")
    answer = client.predict("How many children?", ["Who is UNICEF?"], api_name="/ask")
    assert answer["citations"] and not answer["refused"]


def test_chain_index_is_the_chains_store_or_none(fake_chain: FakeChain) -> None:
    from types import SimpleNamespace

    from ui.chat import chain_index

    assert chain_index(fake_chain) is fake_chain.index
    assert chain_index(SimpleNamespace()) is None
