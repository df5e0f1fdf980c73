"""The e-commerce event contract: one pydantic model per (event type, version), the topic each goes to, and the
domain's topics and migrations (the kit's `DomainContract`).

Producers validate against these before an event enters the outbox; the silver pipeline parses bronze payloads
with Spark schemas derived from the same models, so a change here is a change everywhere. A breaking change is
a new version (a new model registered under the same type), never an edit of a published one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from ingest.core import outbox
from ingest.core.contract import DomainContract, EventPayload
from stack.bootstrap.kafka_topics import retained_topic

DOMAIN = "ecommerce"

CUSTOMERS_TOPIC = "ecommerce.customers"
PRODUCTS_TOPIC = "ecommerce.products"
CARTS_TOPIC = "ecommerce.carts"
ORDERS_TOPIC = "ecommerce.orders"
PAYMENTS_TOPIC = "ecommerce.payments"
TOPICS = (CUSTOMERS_TOPIC, PRODUCTS_TOPIC, CARTS_TOPIC, ORDERS_TOPIC, PAYMENTS_TOPIC)
# Every status an order can be in; silver's expectations hold the data to this list.
ORDER_STATUSES = ("placed", "paid", "shipped", "cancelled", "review", "chargeback")


class CustomerRegisteredV1(EventPayload):
    customer_id: str
    email: str  # PII: hashed in silver
    full_name: str  # PII: dropped in silver
    country: str = Field(min_length=2, max_length=2)
    registered_at: datetime


class ProductUpsertedV1(EventPayload):
    product_id: str
    sku: str
    name: str
    category: str
    merchant_id: str
    price: Decimal = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


class CartLineV1(EventPayload):
    product_id: str
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class CartUpdatedV1(EventPayload):
    cart_id: str
    customer_id: str
    lines: list[CartLineV1]
    updated_at: datetime


class OrderLineV1(EventPayload):
    product_id: str
    category: str
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class OrderPlacedV1(EventPayload):
    order_id: str
    customer_id: str
    merchant_id: str
    terminal_id: str
    card_number: str  # superseded by version 2's token: no longer published
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    lines: list[OrderLineV1]
    placed_at: datetime


class OrderPlacedV2(EventPayload):
    """Version 2: the card as the app's keyed token, its last four digits and brand; the number never leaves the
    app (`ingest/core/cards.py`). Version 1 carried the number itself: still parsed, for history."""

    order_id: str
    customer_id: str
    merchant_id: str
    terminal_id: str
    card_token: str = Field(pattern=r"^[0-9a-f]{64}$")
    card_last4: str = Field(pattern=r"^[0-9]{4}$")
    card_brand: str
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    lines: list[OrderLineV1]
    placed_at: datetime


class OrderStatusChangedV1(EventPayload):
    order_id: str
    status: str  # one of ORDER_STATUSES
    changed_at: datetime


class OrderHeldV1(EventPayload):
    """An order the fraud check did not approve, held for a person to decide: also a NATS notification, so other
    domains can act on it (notify the customer, pause a merchant) without reading the lake."""

    order_id: str
    customer_id: str
    decision: str = Field(pattern="^(review|decline|unscored)$")  # the fraud check's; unscored: no score came
    score: float | None = None
    held_at: datetime


class PaymentCapturedV1(EventPayload):
    payment_id: str
    order_id: str
    amount: Decimal = Field(gt=0)
    method: str
    captured_at: datetime


class ChargebackFiledV1(EventPayload):
    """The fraud label: arrives days after the order, as in real life."""

    chargeback_id: str
    order_id: str
    reason: str
    amount: Decimal = Field(gt=0)
    filed_at: datetime


# (event type, version) -> (payload model, topic). The type names the aggregate and what happened to it.
EVENT_SCHEMAS: dict[tuple[str, int], tuple[type[EventPayload], str]] = {
    ("ecommerce.customer.registered", 1): (CustomerRegisteredV1, CUSTOMERS_TOPIC),
    ("ecommerce.product.upserted", 1): (ProductUpsertedV1, PRODUCTS_TOPIC),
    ("ecommerce.cart.updated", 1): (CartUpdatedV1, CARTS_TOPIC),
    ("ecommerce.order.placed", 1): (OrderPlacedV1, ORDERS_TOPIC),
    ("ecommerce.order.placed", 2): (OrderPlacedV2, ORDERS_TOPIC),
    ("ecommerce.order.status_changed", 1): (OrderStatusChangedV1, ORDERS_TOPIC),
    # On the orders topic, keyed by order id: in order with the order's other events. Silver parses and validates
    # it with the orders flow (a malformed one is quarantined) and keeps it in bronze only: the hold itself is
    # already in silver as the status change to ``review`` published with it.
    ("ecommerce.order.held", 1): (OrderHeldV1, ORDERS_TOPIC),
    ("ecommerce.payment.captured", 1): (PaymentCapturedV1, PAYMENTS_TOPIC),
    ("ecommerce.chargeback.filed", 1): (ChargebackFiledV1, PAYMENTS_TOPIC),
}


# Keyed by aggregate id (customer, product, cart, order; payments and chargebacks by order id) so one aggregate's
# events stay in one partition, in order.
CONTRACT = DomainContract(
    name=DOMAIN,
    events=EVENT_SCHEMAS,
    topics=tuple(retained_topic(topic) for topic in TOPICS),
    migrations=Path(__file__).with_name("migrations"),
    entities=dict(zip(("customers", "products", "carts", "orders", "payments"), TOPICS, strict=True)),
    notifications=frozenset({"ecommerce.order.held"}),
    scopes={
        "customers:write": "register customers",
        "catalog:write": "add and change products",
        "carts:write": "change carts",
        "orders:write": "place orders (a shop front)",
        "payments:write": "capture payments (the payments back office)",
        "chargebacks:write": "file chargebacks (the payments back office)",
        "read": "read orders, a customer's orders and products",
    },
)


def build_event(
    event_type: str, key: str, payload: EventPayload | dict[str, Any], occurred_at: datetime, version: int = 1
) -> outbox.OutboxEvent:
    """An e-commerce event validated against this contract, ready for the outbox (or a product document)."""
    return outbox.build_event(CONTRACT, event_type, key, payload, occurred_at, version)
