"""E-commerce silver, declared with the kit: which silver tables each bronze topic feeds, and how (insert-once
event rows or newest-wins current state); orders also take their status changes and chargeback flags."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession

from ingest.ecommerce.contract import CONTRACT
from pipelines.core.flow import SilverFlow, SilverTarget, silver_flows
from pipelines.core.parse import ParsedBatch
from pipelines.core.tables import DomainLake
from pipelines.ecommerce import silver
from pipelines.ecommerce.orders import apply_chargebacks, apply_status_changes

CUSTOMER_REGISTERED = ("ecommerce.customer.registered", 1)
PRODUCT_UPSERTED = ("ecommerce.product.upserted", 1)
CART_UPDATED = ("ecommerce.cart.updated", 1)
ORDER_PLACED = ("ecommerce.order.placed", 2)
ORDER_PLACED_V1 = ("ecommerce.order.placed", 1)  # carried the card number; kept for history
ORDER_STATUS_CHANGED = ("ecommerce.order.status_changed", 1)
PAYMENT_CAPTURED = ("ecommerce.payment.captured", 1)
CHARGEBACK_FILED = ("ecommerce.chargeback.filed", 1)


def _refresh_statuses(spark: SparkSession, lake: DomainLake, parsed: ParsedBatch) -> dict[str, int]:
    kinds = (ORDER_PLACED, ORDER_PLACED_V1, ORDER_STATUS_CHANGED)
    if not any(parsed.valid.get(kind) for kind in kinds):
        return {}
    touched = reduce(DataFrame.unionByName, [parsed.events[kind].select("payload.order_id") for kind in kinds])
    changed = apply_status_changes(spark, lake.silver("orders"), lake.silver("order_status_changes"), touched)
    return {"orders": changed}


def _flag_chargebacks(spark: SparkSession, lake: DomainLake) -> dict[str, int]:
    return {"orders": apply_chargebacks(spark, lake.silver("orders"), lake.silver("chargebacks"))}


FLOWS: dict[str, SilverFlow] = silver_flows(
    SilverFlow(
        CONTRACT,
        "customers",
        (SilverTarget("customers", CUSTOMER_REGISTERED, silver.customers, ("customer_id",), "occurred_at"),),
    ),
    SilverFlow(
        CONTRACT,
        "products",
        (SilverTarget("products", PRODUCT_UPSERTED, silver.products, ("product_id",), "occurred_at"),),
    ),
    SilverFlow(
        CONTRACT,
        "carts",
        (SilverTarget("carts", CART_UPDATED, silver.carts, ("cart_id",), "occurred_at"),),
    ),
    SilverFlow(
        CONTRACT,
        "orders",
        (
            SilverTarget(
                "orders",
                ORDER_PLACED,
                silver.orders,
                ("order_id",),
                reads=("chargebacks",),
                versions=((ORDER_PLACED_V1, silver.orders_v1),),
            ),
            SilverTarget(
                "order_lines",
                ORDER_PLACED,
                silver.order_lines,
                ("order_id", "line_number"),
                versions=((ORDER_PLACED_V1, silver.order_lines),),
            ),
            SilverTarget("order_status_changes", ORDER_STATUS_CHANGED, silver.order_status_changes, ("event_id",)),
        ),
        after_batch=(_refresh_statuses,),
        after_run=(_flag_chargebacks,),
    ),
    SilverFlow(
        CONTRACT,
        "payments",
        (
            SilverTarget("payments", PAYMENT_CAPTURED, silver.payments, ("payment_id",)),
            SilverTarget("chargebacks", CHARGEBACK_FILED, silver.chargebacks, ("chargeback_id",)),
        ),
    ),
)
