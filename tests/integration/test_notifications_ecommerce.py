"""E-commerce's held order reaches another domain through NATS: the fraud service is down, so the new order is
held (unscored); the held notification is appended in the hold's transaction, relayed to Kafka and JetStream, and
the test domain's consumer acts on it once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from kitdemo.notices import notices_contract, record_held_order
from ports import free_port

from ingest.core.notifications import Subscription, run_consumers
from ingest.core.relay import relay_pass
from ingest.domains import storage_declarations
from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.relay import open_relay_sources
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration

HELD = "ecommerce.order.held"


def place_order_with_the_fraud_service_down(settings: Settings, run: str) -> str:
    down = settings.model_copy(update={"fraud_service_url": f"http://127.0.0.1:{free_port()}"})
    with open_context(down, actor="test", fraud_scoring=True) as ctx:
        handle(RegisterCustomer(customer_id=f"c-{run}", email="ada@shop.test", full_name="Ada", country="GB"), ctx)
        product = UpsertProduct(
            product_id=f"p-{run}", sku=f"sku-{run}", name="Lamp", category="home", merchant_id="m-1", price="20.00"
        )
        handle(product, ctx)
        line = OrderLine(product_id=f"p-{run}", category="home", quantity=1, unit_price=Decimal("20.00"))
        order = PlaceOrder(
            order_id=f"o-{run}",
            customer_id=f"c-{run}",
            merchant_id="m-1",
            terminal_id=f"t-{run}",
            card_number="4111111111111111",
            lines=[line],
            placed_at=datetime.now(UTC),
        )
        handle(order, ctx)
    return order.order_id


def test_a_held_order_emits_order_held_and_another_domain_acts_on_it_once(stack_settings, unique_name):
    # E-commerce's stores and stream, and the test domain's inbox (its contract of this run is only a vehicle).
    declarations = [*storage_declarations(), notices_contract(unique_name).storage]
    apply_all(stack_settings, declarations, progress=lambda line: None)
    order_id = place_order_with_the_fraud_service_down(stack_settings, unique_name)
    with psycopg.connect(stack_settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT event_type, event_id::text, envelope FROM ecommerce.outbox WHERE message_key = %s ORDER BY id",
            (order_id,),
        ).fetchall()
    assert [row[0] for row in rows] == ["ecommerce.order.placed", "ecommerce.order.status_changed", HELD]
    held_id, held = rows[2][1], json.loads(rows[2][2])["payload"]
    assert held["order_id"] == order_id and held["customer_id"] == f"c-{unique_name}"
    assert (held["decision"], held["score"]) == ("unscored", None)

    relay_pass(stack_settings, open_relay_sources)  # the contract's notifications: found by convention
    subscriptions = (Subscription(HELD, record_held_order),)
    report = run_consumers(stack_settings, "kitdemo", subscriptions, until_idle=True)

    assert report.handled >= 1  # other runs' held orders too, the first time this durable consumer runs
    with psycopg.connect(stack_settings.postgres_url) as conn:
        acted = conn.execute(
            "SELECT event_id FROM kitdemo.notices_received WHERE notice_id = %s", (order_id,)
        ).fetchall()
    assert acted == [(held_id,)]
