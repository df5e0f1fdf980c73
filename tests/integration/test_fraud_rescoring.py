"""Orders whose fraud check never finished are scored later, on the real stack: the e-commerce app is a real process
killed with SIGKILL while the fraud service keeps it waiting, then the rescoring job scores the order with the real
fraud service; and a service that stays down is retried a bounded number of times, then the order is held."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from app_keys import dev_headers
from ecommerce_shop import open_shop, order_command
from fraud_served import Served
from ports import free_port

from ingest.ecommerce.commands import PlaceOrder
from ingest.ecommerce.context import open_context
from ingest.ecommerce.ordering import record_order
from ingest.ecommerce.rescoring import rescore_owed
from lakehouse.settings import Settings

pytestmark = pytest.mark.integration

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


@pytest.fixture
def ids(unique_name: str) -> dict[str, str]:
    return {kind: f"{kind}-{unique_name}" for kind in ("customer", "product", "terminal")}


@pytest.fixture
def shop(stack_settings: Settings, ids: dict[str, str]) -> dict[str, str]:
    return open_shop(stack_settings, ids)


def order(ids: dict[str, str], order_id: str) -> PlaceOrder:
    return order_command(ids, order_id, datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def silent_service() -> Iterator[tuple[str, threading.Event]]:
    """A 'fraud service' that accepts the connection and never answers: the app waits inside its check."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    asked, held = threading.Event(), []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)
            asked.set()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", asked
    listener.close()
    for connection in held:
        connection.close()


def post_until_killed(url: str, body: dict) -> None:
    with contextlib.suppress(httpx.TransportError):  # the app is killed while the request waits: the point
        httpx.post(url, json=body, headers=dev_headers("ecommerce"), timeout=180)


def order_row(settings: Settings, order_id: str) -> dict[str, object] | None:
    with psycopg.connect(settings.postgres_url) as conn:
        row = conn.execute(
            """SELECT status, fraud_check_due, fraud_decision, fraud_check_attempts, fraud_error, fraud_score
            FROM ecommerce.orders WHERE order_id = %s""",
            (order_id,),
        ).fetchone()
    keys = ("status", "due", "decision", "attempts", "error", "score")
    return None if row is None else dict(zip(keys, row, strict=True))


def outbox_types(settings: Settings, order_id: str) -> list[str]:
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT event_type FROM ecommerce.outbox WHERE message_key = %s ORDER BY id", (order_id,)
        ).fetchall()
    return [event_type for (event_type,) in rows]


def test_an_app_killed_between_commit_and_verdict_leaves_an_order_the_job_scores_once(
    stack_settings: Settings, fraud_served: Served, shop: dict[str, str], silent_service, unique_name: str
) -> None:
    url, asked = silent_service
    port = free_port()
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE_ROOT": stack_settings.lake_root,
        "LAKEHOUSE_FRAUD_SERVICE_URL": url,
        "LAKEHOUSE_FRAUD_TIMEOUT_S": "120",  # the app waits in its check until it is killed
    }
    app = subprocess.Popen(
        [str(LAKEHOUSE), "ecommerce", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    order_id = f"o-{unique_name}-killed"
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        body = order(shop, order_id).model_dump(mode="json")
        threading.Thread(target=post_until_killed, args=(f"{base}/orders", body), daemon=True).start()
        assert asked.wait(60), "the app never asked the fraud service"
        app.send_signal(signal.SIGKILL)  # committed, checking: the worst moment to die
        assert app.wait(30) == -signal.SIGKILL
    finally:
        if app.poll() is None:
            app.kill()

    owed = order_row(stack_settings, order_id)
    assert owed is not None and owed["due"] is True and owed["decision"] is None and owed["status"] == "placed"

    with open_context(fraud_served.settings, actor="test-rescoring", fraud_scoring=True) as ctx:
        first = rescore_owed(ctx, grace=timedelta(0))
        scored = order_row(stack_settings, order_id)
        rescore_owed(ctx, grace=timedelta(0))  # a second run finds nothing of it to do
    assert scored["decision"] in ("approve", "review", "decline") and 0 <= scored["score"] <= 1
    assert first.outcomes[scored["decision"]] >= 1
    assert order_row(stack_settings, order_id) == scored
    held = scored["decision"] != "approve"
    assert scored["status"] == ("review" if held else "placed")
    expected = ["ecommerce.order.placed"] + (["ecommerce.order.status_changed", "ecommerce.order.held"] if held else [])
    assert outbox_types(stack_settings, order_id) == expected


def test_a_service_that_stays_down_is_retried_then_the_order_is_held_unscored(
    stack_settings: Settings, shop: dict[str, str], unique_name: str
) -> None:
    down = Settings(**stack_settings.model_dump() | {"fraud_service_url": f"http://127.0.0.1:{free_port()}"})
    order_id = f"o-{unique_name}-down"
    with open_context(down, actor="test", fraud_scoring=True) as ctx:
        command = order(shop, order_id)
        record_order(command.protected(ctx.card_token_key), command.placed_at, ctx)  # the app commits, then asks
        rescore_owed(ctx)  # within the grace period: the app's own check may still be running
        assert order_row(stack_settings, order_id)["attempts"] == 0
        first = rescore_owed(ctx, grace=timedelta(0), max_attempts=2)
        after_first = order_row(stack_settings, order_id)
        second = rescore_owed(ctx, grace=timedelta(0), max_attempts=2)
    assert first.outcomes["retry"] >= 1 and after_first["attempts"] == 1 and after_first["decision"] is None
    assert after_first["error"]  # why the service gave no score
    held = order_row(stack_settings, order_id)
    assert second.outcomes["unscored"] >= 1
    assert (held["decision"], held["status"]) == ("unscored", "review")
    assert "gave up after 2 attempts" in held["error"]
    assert outbox_types(stack_settings, order_id) == [
        "ecommerce.order.placed",
        "ecommerce.order.status_changed",
        "ecommerce.order.held",
    ]
