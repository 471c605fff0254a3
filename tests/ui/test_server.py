"""The HTTP surface of `citeline serve`, against a fake chain: API, SSE, bad input, CORS, headers, Gradio."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ui.conftest import ALLOWED
from tests.ui.fake_chain import FakeChain


def _sse(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        events.append((name, json.loads("\n".join(data))))
    return events


def test_ask_returns_cited_answer_json(client: TestClient, fake_chain: FakeChain) -> None:
    r = client.post("/api/ask", json={"question": "How many children?", "history": ["Who is UNICEF?"]})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"answer", "refused", "citations", "notes", "warnings", "timings_ms"}
    assert "1.2 million children" in body["answer"] and "[1]" in body["answer"]
    cit = body["citations"][0]
    doc = fake_chain.index.get_document(cit["doc_id"])
    assert doc is not None and doc.text[cit["start"] : cit["end"]] == cit["quote"]
    assert fake_chain.received[-1].history == ("Who is UNICEF?",)


def test_history_is_trimmed_to_max_history(client: TestClient, fake_chain: FakeChain) -> None:
    history = [f"question {i}" for i in range(10)]
    assert client.post("/api/ask", json={"question": "How many?", "history": history}).status_code == 200
    assert fake_chain.received[-1].history == tuple(history[-6:])


def test_stream_sends_deltas_then_full_answer(client: TestClient) -> None:
    r = client.post("/api/ask/stream", json={"question": "How many children?"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _sse(r.text)
    names = [n for n, _ in events]
    assert names[-1] == "answer" and names[:-1] and set(names[:-1]) == {"delta"}
    streamed = "".join(d["text"] for n, d in events if n == "delta").strip()
    final = events[-1][1]
    assert streamed == final["answer"]
    assert final["citations"][0]["quote"] in final["answer"]


def test_stream_failure_is_an_error_event_without_details(client: TestClient) -> None:
    r = client.post("/api/ask/stream", json={"question": "boom"})
    events = _sse(r.text)
    assert events[-1][0] == "error"
    assert "passwd" not in r.text and "Traceback" not in r.text


def test_chain_failure_is_json_500_without_traceback(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "boom"})
    assert r.status_code == 500
    assert "error" in r.json()
    assert "passwd" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"question": ""}, 422, "question"),
        ({"question": "   "}, 422, "question"),
        ({"question": "x" * 201}, 422, "200"),
        ({"question": 42}, 422, "string"),
        ({}, 422, "question"),
        ({"question": "ok?", "history": "earlier"}, 422, "history"),
        ({"question": "ok?", "history": ["a", 3]}, 422, "history"),
        ({"question": "ok?", "history": ["q"] * 51}, 422, "50"),
        ({"question": "ok?", "history": ["y" * 201]}, 422, "200"),
        (["not", "an", "object"], 400, "object"),
    ],
)
def test_bad_input_gets_clear_4xx(
    client: TestClient, fake_chain: FakeChain, body: Any, status: int, words: str
) -> None:
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, json=body)
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["error"]
    assert fake_chain.received == []


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (rb'{"question": "UNICEF \ud800 demand"}', "The question contains a character that is not valid text"),
        (rb'{"question": "ok?", "history": ["fine", "\udfff"]}', "Earlier question 2 of the history"),
    ],
)
def test_a_lone_surrogate_is_a_clear_422(client: TestClient, fake_chain: FakeChain, raw: bytes, words: str) -> None:
    # Valid JSON ("\\ud800" escapes) but no text the tokenizer can read: said plainly, before answering
    # (it had been a 500, and failed every request whose sentences were encoded in the same batch).
    r = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and words in r.json()["error"]
    assert fake_chain.received == []


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_a_body_not_sent_as_json_is_415(client: TestClient, fake_chain: FakeChain, content_type: str | None) -> None:
    # A form or a text/plain fetch from any website needs no CORS preflight: it must not get an answer.
    headers = {"content-type": content_type} if content_type else {}
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, content=b'{"question": "How many children?"}', headers=headers)
        assert r.status_code == 415, (path, r.text)
        assert "application/json" in r.json()["error"]
    assert fake_chain.received == []


def test_json_with_a_charset_is_accepted(client: TestClient) -> None:
    r = client.post(
        "/api/ask",
        content=b'{"question": "How many children?"}',
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert r.status_code == 200 and r.json()["citations"]


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post("/api/ask", content=b'{"question": "unterminated', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/ask", content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "error" in r.json()


def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    assert client.get("/api/nope").json() == {"error": "Not Found"}
    r = client.get("/api/ask")
    assert r.status_code == 405 and "error" in r.json()


def test_health_counts_documents_and_chunks(client: TestClient) -> None:
    r = client.get("/api/health")
    assert r.json() == {"status": "ok", "documents": 3, "chunks": 3}
    assert r.headers["x-content-type-options"] == "nosniff"


def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    ok = client.post("/api/ask", json={"question": "How many?"}, headers={"Origin": ALLOWED})
    assert ok.headers.get("access-control-allow-origin") == ALLOWED
    bad = client.post("/api/ask", json={"question": "How many?"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers
    pre_ok = client.options(
        "/api/ask/stream",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre_ok.status_code == 200 and pre_ok.headers["access-control-allow-origin"] == ALLOWED
    pre_bad = client.options(
        "/api/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert pre_bad.status_code == 400 and "access-control-allow-origin" not in pre_bad.headers


def test_widget_page_may_be_framed_only_by_self_and_allowed_origins(client: TestClient) -> None:
    r = client.get("/widget")
    assert r.status_code == 200 and 'id="cl-form"' in r.text
    csp = r.headers["content-security-policy"]
    ancestors = csp.split("frame-ancestors", 1)[1].split(";")[0].split()
    assert ancestors == ["'self'", ALLOWED]
    assert "script-src 'self'" in csp  # no inline script can run in the widget frame
    chat_csp = client.get("/chat/").headers["content-security-policy"]
    assert chat_csp == "frame-ancestors 'self'"


def test_widget_question_box_holds_at_most_what_the_server_accepts(client: TestClient) -> None:
    page = client.get("/widget").text
    assert 'maxlength="200"' in page  # settings.max_question_chars; a longer question would be a 422


def test_widget_assets_and_example_page(client: TestClient) -> None:
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "currentScript" in js.text
    assert client.get("/widget/app.js").status_code == 200
    assert client.get("/widget/widget.css").headers["content-type"].startswith("text/css")
    page = client.get("/example")
    assert '<script src="/widget.js" data-title="Help" data-position="right"></script>' in page.text


def test_root_redirects_to_chat(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/chat/"
    assert client.get("/chat/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/chat/gradio_api/upload"),
        ("GET", "/chat/gradio_api/upload_progress?upload_id=x"),
        ("GET", "/chat/gradio_api/file=/etc/passwd"),
        ("GET", "/chat/gradio_api/file/etc/passwd"),
        ("GET", "/chat/gradio_api/proxy=https://example.com/x"),
        ("POST", "/chat/gradio_api/component_server"),
        ("GET", "/chat/monitoring"),
        ("GET", "/chat/gradio_api/runs"),
        ("POST", "/chat/gradio_api/vibe-edit"),
        ("POST", "/chat/gradio_api/process_recording"),
        ("POST", "/chat//gradio_api/upload"),
        ("POST", "/chat/gradio_api/./upload"),
        ("POST", "/chat/assets/../gradio_api/upload"),
        ("GET", "/chat/gradio_api/file%3D/etc/passwd"),
    ],
)
def test_unneeded_gradio_routes_are_closed(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 404
    assert r.json() == {"error": "not found"}


def test_gradio_routes_the_chat_needs_stay_open(client: TestClient) -> None:
    assert client.get("/chat/config").status_code == 200
    assert client.get("/chat/gradio_api/info").status_code == 200


def test_gradio_api_lists_only_the_public_ask_endpoint(client: TestClient) -> None:
    info = client.get("/chat/gradio_api/info").json()
    assert list(info["named_endpoints"]) == ["/ask"]
    assert not info.get("unnamed_endpoints")
    params = [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]]
    assert params[0] == "question"
    spec = client.get("/chat/gradio_api/openapi.json").json()
    listed = [p for p in spec["paths"] if "ask" in p or "respond" in p or "like" in p or "lambda" in p]
    assert listed and all("/ask" in p for p in listed)


def test_own_openapi_documents_the_ask_body(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    body = spec["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["question"]


def test_serve_answers_a_warm_up_question_before_accepting_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # The embedding model is lazy: without the warm-up the first user's request loaded it.
    import uvicorn

    import assistant.chain
    from assistant.config import Settings
    from ui import server

    chain = FakeChain()
    seen_before_run: list[int] = []
    monkeypatch.setattr(assistant.chain, "load_chain", lambda settings: chain)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen_before_run.append(len(chain.received)))
    server.serve(Settings(port=8765))
    assert seen_before_run == [1]
    assert chain.received[0].question == server.WARM_UP_QUESTION
