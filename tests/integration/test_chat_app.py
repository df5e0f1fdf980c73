"""The chat HTTP app on the real stack: 403 for non-members (saying so), 404 for unknown rooms, 422 for bad input,
idempotent retries, author-only edits, tombstones, paging newest first with an opaque cursor, mentions.

The sentiment service is pointed at a closed port: every message is accepted and shows ``unscored``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from app_keys import dev_headers
from fastapi.testclient import TestClient
from ports import free_port

from ingest.chat.app import create_app
from ingest.chat.contract import CONTRACT
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chat_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    # Nothing listens there: moderation fails fast and the messages stay unscored.
    return stack_settings.model_copy(update={"sentiment_service_url": f"http://127.0.0.1:{free_port()}"})


@pytest.fixture(scope="module")
def client(chat_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(chat_settings), headers=dev_headers("chat")) as test_client:
        yield test_client


def as_user(user_id: str) -> dict[str, str]:
    return {"X-User-Id": user_id}


@pytest.fixture
def room(client: TestClient, unique_name: str) -> dict[str, str]:
    people = {name: f"{name}-{unique_name}" for name in ("ada", "bob", "eve")}
    for user_id in people.values():
        assert client.post("/users", json={"user_id": user_id, "display_name": user_id}).status_code == 201
    body = {"room_id": f"room-{unique_name}", "kind": "group", "title": "tea", "members": [people["bob"]]}
    assert client.post("/rooms", json=body, headers=as_user(people["ada"])).status_code == 201
    return people | {"room": body["room_id"]}


def send(client: TestClient, room: dict[str, str], author: str, text: str, command_id: str):
    return client.post(
        f"/rooms/{room['room']}/messages", json={"command_id": command_id, "text": text}, headers=as_user(author)
    )


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert "/rooms/{room_id}/messages" in client.get("/openapi.json").json()["paths"]


def test_non_member_unknown_room_and_bad_input(client: TestClient, room: dict[str, str], unique_name: str) -> None:
    refused = send(client, room, room["eve"], "hello", f"c-{unique_name}")
    assert refused.status_code == 403 and "not a member" in refused.json()["detail"]
    history = client.get(f"/rooms/{room['room']}/messages", headers=as_user(room["eve"]))
    assert history.status_code == 403 and "not a member" in history.json()["detail"]
    missing = client.get(f"/rooms/nowhere-{unique_name}/messages", headers=as_user(room["ada"]))
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
    assert send(client, room, room["ada"], "", f"c2-{unique_name}").status_code == 422
    no_header = client.post(f"/rooms/{room['room']}/messages", json={"command_id": "x", "text": "hi"})
    assert no_header.status_code == 422
    bad_cursor = client.get(f"/rooms/{room['room']}/messages?cursor=zzz", headers=as_user(room["ada"]))
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.json()["detail"]


def test_send_is_idempotent_and_unscored_when_the_service_is_down(client: TestClient, room: dict[str, str]) -> None:
    first = send(client, room, room["ada"], "what a lovely day", "send-1-" + room["room"])
    again = send(client, room, room["ada"], "what a lovely day", "send-1-" + room["room"])
    other = send(client, room, room["ada"], "something else", "send-1-" + room["room"])
    assert first.status_code == 201 and first.json()["moderation"] == "unscored"
    assert (again.status_code, again.json()["outcome"], again.json()["id"]) == (200, "unchanged", first.json()["id"])
    assert other.status_code == 409
    (message,) = client.get(f"/rooms/{room['room']}/messages", headers=as_user(room["bob"])).json()["messages"]
    assert (message["body"], message["moderation"], message["author_id"]) == (
        "what a lovely day",
        "unscored",
        room["ada"],
    )


def test_edit_by_author_only_and_delete_leaves_a_tombstone(client: TestClient, room: dict[str, str]) -> None:
    message_id = send(client, room, room["ada"], "helo", "s-" + room["room"]).json()["id"]
    url = f"/rooms/{room['room']}/messages/{message_id}"
    by_bob = client.patch(url, json={"command_id": "e1-" + room["room"], "text": "x"}, headers=as_user(room["bob"]))
    assert by_bob.status_code == 403 and "author" in by_bob.json()["detail"]
    edit = client.patch(url, json={"command_id": "e2-" + room["room"], "text": "hello"}, headers=as_user(room["ada"]))
    assert edit.status_code == 200 and edit.json()["version"] == 2
    (shown,) = client.get(f"/rooms/{room['room']}/messages", headers=as_user(room["ada"])).json()["messages"]
    assert shown["body"] == "hello" and shown["edited_at"] is not None
    by_member = client.delete(f"{url}?command_id=d1-{room['room']}", headers=as_user(room["bob"]))
    assert by_member.status_code == 403 and "moderator" in by_member.json()["detail"]
    deleted = client.delete(f"{url}?command_id=d2-{room['room']}", headers=as_user(room["ada"]))
    assert deleted.status_code == 200
    (tombstone,) = client.get(f"/rooms/{room['room']}/messages", headers=as_user(room["ada"])).json()["messages"]
    assert (tombstone["message_id"], tombstone["deleted"], tombstone["body"]) == (message_id, True, None)
    again = client.patch(url, json={"command_id": "e3-" + room["room"], "text": "x"}, headers=as_user(room["ada"]))
    assert again.status_code == 409


def test_history_pages_newest_first_across_days(client: TestClient, room: dict[str, str], chat_settings) -> None:
    from ingest.chat.commands import SendMessage
    from ingest.chat.context import open_context
    from ingest.chat.service import handle

    start = datetime.now(UTC) - timedelta(days=3)
    with open_context(chat_settings, actor="test") as ctx:
        sent = [
            handle(
                SendMessage(
                    command_id=f"h{i}-{room['room']}",
                    room_id=room["room"],
                    author_id=room["bob"] if i % 2 else room["ada"],
                    text=f"message {i}",
                    sent_at=start + timedelta(hours=9 * i),
                ),
                ctx,
            ).id
            for i in range(7)
        ]
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = client.get(f"/rooms/{room['room']}/messages{query}", headers=as_user(room["bob"])).json()
        seen += [m["body"] for m in page["messages"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"message {i}" for i in reversed(range(7))] and pages == 3
    assert len(set(sent)) == 7


def test_mentions_of_a_user(client: TestClient, room: dict[str, str]) -> None:
    send(client, room, room["ada"], f"@{room['bob']} look at this", "m1-" + room["room"])
    send(client, room, room["ada"], "nobody mentioned", "m2-" + room["room"])
    send(client, room, room["ada"], f"again @{room['bob']}.", "m3-" + room["room"])
    mine = client.get(f"/users/{room['bob']}/mentions", headers=as_user(room["bob"]))
    assert [m["body"] for m in mine.json()["messages"]] == [f"again @{room['bob']}.", f"@{room['bob']} look at this"]
    assert client.get(f"/users/{room['bob']}/mentions", headers=as_user(room["ada"])).status_code == 403


def test_a_profile_lands_in_mongo_and_a_block_closes_the_direct_room(client: TestClient, unique_name: str) -> None:
    ada, bob = f"ada-{unique_name}", f"bob-{unique_name}"
    for user in (ada, bob):
        client.post("/users", json={"user_id": user, "display_name": user})
    direct = {"room_id": f"dm-{unique_name}", "kind": "direct", "members": [bob]}
    assert client.post("/rooms", json=direct, headers=as_user(ada)).status_code == 201
    room = {"room": direct["room_id"]}
    assert send(client, room, bob, "hi ada", f"dm1-{unique_name}").status_code == 201

    profile = {
        "command_id": f"p-{unique_name}",
        "display_name": "Ada L.",
        "avatar_url": "https://img.test/ada.png",
        "preferences": [{"name": "theme", "value": "dark"}],
        "blocked_users": [bob],
    }
    assert client.put(f"/users/{ada}/profile", json=profile, headers=as_user(bob)).status_code == 403
    updated = client.put(f"/users/{ada}/profile", json=profile, headers=as_user(ada))
    assert updated.status_code == 200 and updated.json()["version"] == 1
    shown = client.get(f"/users/{ada}/profile").json()
    assert (shown["display_name"], shown["preferences"], shown["blocked_users"]) == ("Ada L.", {"theme": "dark"}, [bob])
    assert shown["profile_version"] == 1

    blocked = send(client, room, bob, "hello?", f"dm2-{unique_name}")
    assert blocked.status_code == 403 and "blocked" in blocked.json()["detail"]
