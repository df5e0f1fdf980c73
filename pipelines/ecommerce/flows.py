"""Which silver tables each bronze topic feeds, and how: insert-once event rows or newest-wins current state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from pyspark.sql import DataFrame, SparkSession

from ingest.ecommerce.events import EVENT_SCHEMAS, TOPICS
from pipelines.ecommerce import silver
from pipelines.ecommerce.orders import apply_chargebacks, apply_status_changes
from pipelines.ecommerce.parse import EventKey, ParsedBatch
from pipelines.ecommerce.tables import ENTITIES, EcommerceLake

ENTITY_TOPICS = dict(zip(ENTITIES, TOPICS, strict=True))

CUSTOMER_REGISTERED = ("ecommerce.customer.registered", 1)
PRODUCT_UPSERTED = ("ecommerce.product.upserted", 1)
CART_UPDATED = ("ecommerce.cart.updated", 1)
ORDER_PLACED = ("ecommerce.order.placed", 1)
ORDER_STATUS_CHANGED = ("ecommerce.order.status_changed", 1)
PAYMENT_CAPTURED = ("ecommerce.payment.captured", 1)
CHARGEBACK_FILED = ("ecommerce.chargeback.filed", 1)


@dataclass(frozen=True)
class SilverTarget:
    """One silver table fed by one event type. ``newer_by`` set: current state; unset: each key inserted once.

    Keys are the business identifiers callers choose (commands are idempotent by them), so an event re-sent with
    a fresh event_id is still recognised; status changes have none but their event_id.
    """

    table: str
    event: EventKey
    rows: Callable[[DataFrame], DataFrame]
    keys: tuple[str, ...]
    newer_by: str | None = None


AfterBatch = Callable[[SparkSession, EcommerceLake, ParsedBatch], dict[str, int]]
AfterRun = Callable[[SparkSession, EcommerceLake], dict[str, int]]


@dataclass(frozen=True)
class SilverFlow:
    """Everything silver does with one bronze table; one streaming checkpoint per flow."""

    entity: str
    targets: tuple[SilverTarget, ...]
    after_batch: tuple[AfterBatch, ...] = field(default=())
    after_run: tuple[AfterRun, ...] = field(default=())

    @property
    def handled(self) -> dict[EventKey, type[BaseModel]]:
        topic = ENTITY_TOPICS[self.entity]
        return {key: model for key, (model, on_topic) in EVENT_SCHEMAS.items() if on_topic == topic}


def _refresh_statuses(spark: SparkSession, lake: EcommerceLake, parsed: ParsedBatch) -> dict[str, int]:
    if not (parsed.valid.get(ORDER_PLACED) or parsed.valid.get(ORDER_STATUS_CHANGED)):
        return {}
    touched = (
        parsed.events[ORDER_PLACED]
        .select("payload.order_id")
        .unionByName(parsed.events[ORDER_STATUS_CHANGED].select("payload.order_id"))
    )
    changed = apply_status_changes(spark, lake.silver("orders"), lake.silver("order_status_changes"), touched)
    return {"orders": changed}


def _flag_chargebacks(spark: SparkSession, lake: EcommerceLake) -> dict[str, int]:
    return {"orders": apply_chargebacks(spark, lake.silver("orders"), lake.silver("chargebacks"))}


FLOWS: dict[str, SilverFlow] = {
    flow.entity: flow
    for flow in (
        SilverFlow(
            "customers",
            (SilverTarget("customers", CUSTOMER_REGISTERED, silver.customers, ("customer_id",), "occurred_at"),),
        ),
        SilverFlow(
            "products", (SilverTarget("products", PRODUCT_UPSERTED, silver.products, ("product_id",), "occurred_at"),)
        ),
        SilverFlow("carts", (SilverTarget("carts", CART_UPDATED, silver.carts, ("cart_id",), "occurred_at"),)),
        SilverFlow(
            "orders",
            (
                SilverTarget("orders", ORDER_PLACED, silver.orders, ("order_id",)),
                SilverTarget("order_lines", ORDER_PLACED, silver.order_lines, ("order_id", "line_number")),
                SilverTarget("order_status_changes", ORDER_STATUS_CHANGED, silver.order_status_changes, ("event_id",)),
            ),
            after_batch=(_refresh_statuses,),
            after_run=(_flag_chargebacks,),
        ),
        SilverFlow(
            "payments",
            (
                SilverTarget("payments", PAYMENT_CAPTURED, silver.payments, ("payment_id",)),
                SilverTarget("chargebacks", CHARGEBACK_FILED, silver.chargebacks, ("chargeback_id",)),
            ),
        ),
    )
}
