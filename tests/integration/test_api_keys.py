"""API keys on the real stack: issued, listed and revoked with `lakehouse keys`, stored hashed in PostgreSQL, their
scopes checked on the e-commerce app's routes (401, 403), their rates counted in Redis (429 with Retry-After)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from entrypoints.cli import main
from ingest.core.api_keys import Principal, parse_key, secret_sha256
from ingest.core.auth import WINDOW_S, RateLimiter
from ingest.domains import storage_declarations
from ingest.ecommerce.app import create_app
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def key_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    # No cache: a revocation shows at the next request (the cache's own delay is a setting, not under test here).
    return stack_settings.model_copy(update={"api_key_cache_s": 0.0})


@pytest.fixture(scope="module")
def client(key_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(key_settings)) as test_client:
        yield test_client


def issue(capsys, *args: str) -> str:  # noqa: ANN001
    assert main(["keys", "create", *args]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "shown only now" in printed[1]
    return printed[-1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_request_without_a_valid_key_is_refused_with_401_saying_why(client: TestClient) -> None:
    answer = client.get("/orders/nope")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert "needs an API key" in answer.json()["detail"]
    assert client.get("/health").status_code == 200  # probes need no key
    malformed = client.get("/orders/nope", headers=bearer("not-a-key"))
    assert malformed.status_code == 401 and "lhk_<12 hex digits>_<secret>" in malformed.json()["detail"]
    unknown = client.get("/orders/nope", headers=bearer("lhk_0123456789ab_" + "x" * 43))
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "unknown API key 0123456789ab")
    basic = client.get("/orders/nope", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


def test_scopes_decide_what_a_key_may_do(client: TestClient, capsys, unique_name: str) -> None:
    shop = issue(capsys, "ecommerce", "--client", f"shop-{unique_name}", "--scope", "orders:write")
    office = issue(capsys, "ecommerce", "--client", f"office-{unique_name}", "--scope", "payments:write")
    payment = {"payment_id": f"p-{unique_name}", "method": "card"}
    refused = client.post(f"/orders/o-{unique_name}/payments", json=payment, headers=bearer(shop))
    key_id = parse_key(shop)[0]
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == f"API key {key_id} (shop-{unique_name}) lacks scope payments:write; it holds: orders:write"
    )
    # The back office passes the check and reaches the use case, which answers for the order itself.
    allowed = client.post(f"/orders/o-{unique_name}/payments", json=payment, headers=bearer(office))
    assert allowed.status_code == 404 and "does not exist" in allowed.json()["detail"]
    # Reads need `read`; the shop front has only `orders:write`.
    assert client.get(f"/orders/o-{unique_name}", headers=bearer(shop)).status_code == 403


def test_a_key_of_another_domain_or_a_development_key_turned_off_is_refused(
    key_settings: Settings, client: TestClient, capsys, unique_name: str
) -> None:
    chat = issue(capsys, "chat", "--client", f"chat-{unique_name}", "--scope", "*")
    other = client.get("/orders/nope", headers=bearer(chat))
    assert other.status_code == 401 and other.json()["detail"].endswith("is for the chat app, not ecommerce")
    assert client.get("/orders/nope", headers=bearer("dev-ecommerce-key")).status_code == 404  # on: every scope
    strict = key_settings.model_copy(update={"api_dev_keys": False})
    with TestClient(create_app(strict)) as closed:
        assert closed.get("/orders/nope", headers=bearer("dev-ecommerce-key")).status_code == 401


def test_keys_are_stored_hashed_listed_without_secrets_and_revoked(
    key_settings: Settings, client: TestClient, capsys, unique_name: str
) -> None:
    client_name = f"reader-{unique_name}"
    key = issue(capsys, "ecommerce", "--client", client_name, "--scope", "read", "--rate", "50")
    key_id, secret = parse_key(key)
    with psycopg.connect(key_settings.postgres_url) as conn:
        stored = conn.execute(
            "SELECT secret_sha256, scopes, rate_per_minute FROM lakehouse_kit.api_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
    assert stored == (secret_sha256(secret), ["read"], 50)
    assert main(["keys", "list", "ecommerce"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if client_name in line]
    assert len(listed) == 1 and key_id in listed[0] and "live" in listed[0] and secret not in listed[0]

    assert client.get("/orders/nope", headers=bearer(key)).status_code == 404
    assert main(["keys", "revoke", key_id]) == 0
    revoked = client.get("/orders/nope", headers=bearer(key))
    assert revoked.status_code == 401 and f"API key {key_id} was revoked at" in revoked.json()["detail"]
    assert main(["keys", "revoke", key_id]) == 1  # not live any more: said, not silently done twice
    assert "no live key" in capsys.readouterr().err


def test_unknown_scopes_are_refused_when_a_key_is_created(capsys) -> None:
    assert main(["keys", "create", "ecommerce", "--client", "x", "--scope", "messages:write"]) == 2
    assert "unknown scope(s) messages:write for ecommerce" in capsys.readouterr().err


def test_a_key_past_its_rate_gets_429_with_retry_after(client: TestClient, capsys, unique_name) -> None:
    rate = 3
    key = issue(capsys, "ecommerce", "--client", f"busy-{unique_name}", "--scope", "read", "--rate", "3")
    # A fixed window: across a minute's edge up to twice the rate goes through, never more.
    answers = [client.get("/orders/nope", headers=bearer(key)) for _ in range(2 * rate + 1)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:rate] == [404] * rate and 429 in statuses
    limited = answers[statuses.index(429)]
    assert 1 <= int(limited.headers["Retry-After"]) <= WINDOW_S
    assert f"sent more than {rate} requests this minute" in limited.json()["detail"]


def test_the_rate_window_is_shared_through_redis_and_reopens(key_settings: Settings, unique_name: str) -> None:
    principal = Principal(f"w-{unique_name}", "ecommerce", "window", frozenset({"read"}), 2)
    first, second = RateLimiter(key_settings.redis_url), RateLimiter(key_settings.redis_url)  # two app processes
    start = (int(time.time() // WINDOW_S) + 10) * WINDOW_S  # a window of its own, in the future
    assert [first.retry_after(principal, start + 1), second.retry_after(principal, start + 2)] == [None, None]
    assert first.retry_after(principal, start + 15) == WINDOW_S - 15
    assert second.retry_after(principal, start + WINDOW_S) is None  # the next window


def test_the_audit_log_names_the_key_s_client(
    key_settings: Settings, client: TestClient, capsys, unique_name: str
) -> None:
    crm = issue(capsys, "ecommerce", "--client", f"crm-{unique_name}", "--scope", "customers:write")
    customer = {"customer_id": f"c-{unique_name}", "email": "ada@shop.test", "full_name": "Ada", "country": "GB"}
    headers = bearer(crm) | {"X-Actor": "alice"}
    assert client.post("/customers", json=customer, headers=headers).status_code == 201
    with psycopg.connect(key_settings.postgres_url) as conn:
        actors = conn.execute(
            "SELECT actor FROM ecommerce.audit_log WHERE table_name = 'customers' AND row_key = %s",
            (customer["customer_id"],),
        ).fetchall()
    assert actors == [(f"api:crm-{unique_name}/alice",)]
