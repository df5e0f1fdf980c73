"""The social app on the real stack: status codes with reasons, idempotent retries, fan-out by the relay (no
duplicates after a simulated crash), held posts of restricted users, and moderation with the service down."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from app_keys import dev_headers
from fastapi.testclient import TestClient

from ingest.core.relay import open_relay, relay_once, sources_in
from ingest.core.storage import KIT_STORAGE
from ingest.social.app import create_app
from ingest.social.contract import CONTRACT
from ingest.social.moderation import moderate_pending, record
from lakehouse.settings import Settings
from serving.sentiment.contract import ModerationDecision
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
OPEN = sources_in("ingest.social.relay")


@pytest.fixture(scope="module")
def down_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    # Nothing listens on port 9: the sentiment service is down for these tests.
    return stack_settings.model_copy(update={"sentiment_service_url": "http://127.0.0.1:9"})


@pytest.fixture(scope="module")
def client(down_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(down_settings), headers=dev_headers("social")) as test_client:
        yield test_client


def relay_all(settings: Settings, crash_once: bool = False) -> None:
    with open_relay(settings, OPEN) as (sources, producer):
        if crash_once:

            def crash() -> None:
                raise RuntimeError("simulated crash after publish and projection")

            with pytest.raises(RuntimeError, match="simulated crash"):
                relay_once(sources, producer, after_publish=crash)
        while relay_once(sources, producer) > 0:
            pass


def register(client: TestClient, *user_ids: str) -> None:
    for uid in user_ids:
        body = {"user_id": uid, "handle": uid, "email": f"{uid}@social.test"}
        assert client.post("/users", json=body).status_code == 201


def test_errors_name_the_problem(client: TestClient, unique_name: str) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get(f"/posts/nope-{unique_name}").status_code == 404
    missing = client.post("/posts", json={"post_id": unique_name, "author_id": f"ghost-{unique_name}", "text": "hi"})
    assert missing.status_code == 404 and "author_id" in missing.json()["detail"]
    empty = client.post("/posts", json={"post_id": unique_name, "author_id": "x", "text": ""})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"][-1] == "text"
    register(client, f"a-{unique_name}")
    bad_kind = client.post(f"/posts/{unique_name}/reactions", json={"user_id": f"a-{unique_name}", "kind": "meh"})
    assert bad_kind.status_code == 422
    assert client.get(f"/users/a-{unique_name}/feed", params={"cursor": "garbage"}).status_code == 422
    assert client.get(f"/users/nobody-{unique_name}/feed").status_code == 404


def test_post_fans_out_once_to_followers_and_pages(
    client: TestClient, down_settings: Settings, unique_name: str
) -> None:
    author, fan, other = (f"{r}-{unique_name}" for r in ("author", "fan", "other"))
    register(client, author, fan, other)
    assert client.put(f"/users/{author}/followers", json={"follower_id": fan}).status_code == 201
    assert client.put(f"/users/{author}/followers", json={"follower_id": fan}).status_code == 200  # unchanged
    posts = [f"{unique_name}-p{i}" for i in range(5)]
    for i, post_id in enumerate(posts):
        body = {"post_id": post_id, "author_id": author, "text": f"day {i} #Travel #food"}
        body["created_at"] = f"2026-03-0{i + 1}T12:00:00Z"
        assert client.post("/posts", json=body).status_code == 201
        assert client.post("/posts", json=body).status_code == 200  # a retry is a replay
    conflict = client.post("/posts", json={"post_id": posts[0], "author_id": author, "text": "other"})
    assert conflict.status_code == 409

    comment = {"comment_id": f"{posts[0]}-c1", "author_id": fan, "text": "lovely"}
    assert client.post(f"/posts/{posts[0]}/comments", json=comment).status_code == 201
    for kind in ("like", "love", "like"):
        client.post(f"/posts/{posts[0]}/reactions", json={"user_id": fan, "kind": kind})
    relay_all(down_settings, crash_once=True)
    relay_all(down_settings)  # a re-run after everything was sent changes nothing

    post = client.get(f"/posts/{posts[0]}").json()
    assert (post["hashtags"], post["topic"], post["status"]) == (["travel", "food"], "travel", "published")
    assert [c["text"] for c in post["comments"]] == ["lovely"] and post["comments"][0]["status"] == "unscored"
    assert post["reactions"] == {"like": 1, "love": 1}
    pages, cursor = [], None
    while True:
        page = client.get(f"/users/{fan}/feed", params={"limit": 2} | ({"cursor": cursor} if cursor else {})).json()
        pages.append([entry["post_id"] for entry in page["entries"]])
        if (cursor := page["next_cursor"]) is None:
            break
    seen = [post_id for page in pages for post_id in page]
    assert seen == list(reversed(posts))  # newest first, each once, across day partitions and pages
    assert client.get(f"/users/{other}/feed").json()["entries"] == []


def test_restricted_posts_are_held_until_moderated(
    client: TestClient, down_settings: Settings, unique_name: str
) -> None:
    author, fan = f"r-{unique_name}", f"f-{unique_name}"
    with psycopg.connect(down_settings.postgres_url, autocommit=True) as conn:
        # A restriction that arrived before the user registered (a flag in chat, say) applies at registration.
        conn.execute(
            "INSERT INTO social.pending_trust (user_id, trust_level, reason, created_by, updated_by)"
            " VALUES (%s, 'restricted', 'test', 'test', 'test')",
            (author,),
        )
    register(client, author, fan)
    client.put(f"/users/{author}/followers", json={"follower_id": fan})
    body = {"post_id": f"{unique_name}-held", "author_id": author, "text": "hello #music"}
    assert client.post("/posts", json=body).status_code == 201
    relay_all(down_settings)
    assert client.get(f"/posts/{body['post_id']}").json()["status"] == "held"
    assert client.get(f"/users/{fan}/feed").json()["entries"] == []

    with psycopg.connect(down_settings.postgres_url) as conn:  # the service was down: the post waits, unscored
        queued = conn.execute(
            "SELECT last_error IS NOT NULL FROM social.unmoderated WHERE content_id = %s", (body["post_id"],)
        ).fetchone()
        assert queued == (True,)
        # What the service would answer, recorded through the same callback moderate_pending uses.
        decision = ModerationDecision(
            domain="social",
            content_kind="post",
            content_id=body["post_id"],
            author_id=author,
            label=1,
            score=0.9,
            flagged=False,
            reason="positive",
            model_name="test",
            model_version="1",
            features_source="none",
            features={},
        )
        with conn.transaction():
            record(conn, decision)
    relay_all(down_settings)
    assert [e["post_id"] for e in client.get(f"/users/{fan}/feed").json()["entries"]] == [body["post_id"]]
    assert client.get(f"/posts/{body['post_id']}").json()["status"] == "published"


def test_moderate_pending_with_the_service_still_down_keeps_the_queue(down_settings: Settings) -> None:
    from psycopg_pool import ConnectionPool

    with (
        ConnectionPool(down_settings.postgres_url, min_size=1, max_size=2) as pool,
        pytest.raises(Exception, match="127.0.0.1:9|connect|refused"),
    ):
        moderate_pending(down_settings, pool, limit=10)
