"""The kit's input limits, on a small app of its own: what every domain app refuses before a handler runs."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from ingest.core.http import install_input_limits, unstorable_text

LIMIT = 2048


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.state.handled = 0

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        request.app.state.handled += 1
        return {"got": await request.json()}

    @app.get("/items/{item_id}")
    async def item(item_id: str, q: str = "") -> dict:
        return {"item_id": item_id, "q": q}

    install_input_limits(app, LIMIT)
    return app


def post_raw(client: TestClient, body: bytes, **kwargs):
    return client.post("/echo", content=body, headers={"Content-Type": "application/json"}, **kwargs)


def test_ordinary_text_passes_untouched_escapes_included(app):
    client = TestClient(app)
    document = {"name": "Zoë 😀 — ok", "note": "a literal \\u0000 typed by a person", "tags": ["x", {"y": "é"}]}
    answer = post_raw(client, json.dumps(document).encode())  # ensure_ascii: every non-ASCII char is a \u escape
    assert answer.status_code == 200 and answer.json() == {"got": document}
    body = json.dumps({"pad": "x" * (LIMIT - 11)}).encode()
    assert len(body) == LIMIT and post_raw(client, body).status_code == 200  # at the limit: accepted


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        (b'{"customer_id": "c\\u0000"}', ["body", "customer_id"], "NUL"),
        (b'{"order": {"lines": [{"sku": "ok"}, {"sku": "\\u0000x"}]}}', ["body", "order", "lines", 1, "sku"], "NUL"),
        (b'{"text": "half \\ud83d of an emoji"}', ["body", "text"], "lone surrogate"),
        (b'{"bad\\u0000key": 1}', ["body", "bad\x00key"], "NUL"),
    ],
)
def test_text_postgresql_cannot_store_is_a_422_naming_where(app, body, loc, says):
    answer = post_raw(TestClient(app), body)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == loc and says in problem["msg"]
    assert app.state.handled == 0


def test_a_body_over_the_limit_is_413_before_the_handler_declared_or_chunked(app):
    client = TestClient(app)
    big = json.dumps({"pad": "x" * LIMIT}).encode()
    answer = post_raw(client, big)
    assert answer.status_code == 413 and "larger than 2048 bytes" in answer.json()["detail"]

    def chunks():  # no Content-Length: the limit is counted as the bytes arrive
        yield b'{"pad": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}'

    answer = client.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert app.state.handled == 0


def test_a_nul_in_the_path_or_query_is_a_422(app):
    client = TestClient(app)
    assert client.get("/items/a%00b").status_code == 422
    assert client.get("/items/ab", params={"q": "x\x00"}).status_code == 422
    assert client.get("/items/ab", params={"q": "fine"}).json() == {"item_id": "ab", "q": "fine"}


def test_bodies_without_escapes_or_not_json_are_left_to_the_route():
    assert unstorable_text(b'{"a": "plain"}') == []
    assert unstorable_text(b"not json \\u0000") == []  # the route's own validation answers malformed JSON
