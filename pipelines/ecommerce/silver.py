"""Typed e-commerce events → silver rows: one function per silver table, PII hashed or dropped on the way.

Inputs are the valid events of one (type, version) from :func:`pipelines.core.parse.split_events`:
provenance, envelope fields and ``payload`` as a struct of the contract's schema.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.core.cards import BRAND_PREFIXES
from pipelines.core.schemas import MONEY

# Hashes must be identical across runs and machines so customers and cards can be joined and counted (the
# fraud features count orders per card). The pepper stops a lookup of common emails in public sha256 tables;
# a deployment that shares silver outside the team should move it to a secret, which changes every hash once.
PII_PEPPER = "lakehouse.ecommerce.pii.v1"


def pii_hash(value: Column) -> Column:
    """sha256 hex of the peppered, normalised value; null stays null."""
    return F.sha2(F.concat(F.lit(PII_PEPPER), F.lower(F.trim(value))), 256)


def customers(events: DataFrame) -> DataFrame:
    """customer.registered → current customer, email hashed, full name dropped."""
    return events.select(
        "payload.customer_id",
        pii_hash(F.col("payload.email")).alias("email_hash"),
        "payload.country",
        "payload.registered_at",
        "event_id",
        "occurred_at",
    )


def products(events: DataFrame) -> DataFrame:
    return events.select(
        *[f"payload.{c}" for c in ("product_id", "sku", "name", "category", "merchant_id", "price", "currency")],
        "event_id",
        "occurred_at",
    )


def carts(events: DataFrame) -> DataFrame:
    value = F.aggregate(
        "payload.lines", F.lit(0).cast(MONEY), lambda total, line: (total + line.quantity * line.unit_price).cast(MONEY)
    )
    return events.select(
        "payload.cart_id",
        "payload.customer_id",
        "payload.lines",
        F.size("payload.lines").alias("line_count"),
        value.cast(MONEY).alias("cart_value"),
        "payload.updated_at",
        "event_id",
        "occurred_at",
    )


def card_brand(number: Column) -> Column:
    """The brand of a card number, by the issuer prefixes the app uses (`ingest.core.cards`)."""
    brand = F.lit("other")
    for name, prefix in reversed(BRAND_PREFIXES):
        brand = F.when(number.rlike(prefix.pattern), F.lit(name)).otherwise(brand)
    return brand


def orders(events: DataFrame) -> DataFrame:
    """order.placed (version 2) → one order row, the card as the app's token. Status starts as placed."""
    card = [F.col(f"payload.{field}") for field in ("card_token", "card_last4", "card_brand")]
    return _order_rows(events, *card)


def orders_v1(events: DataFrame) -> DataFrame:
    """order.placed version 1, which carried the card number: kept as its last four digits and brand only. No
    token: the key is the app's, and an unkeyed hash of a number is reversible (README "Card data")."""
    number = F.col("payload.card_number")
    return _order_rows(events, F.lit(None).cast("string"), F.substring(number, -4, 4), card_brand(number))


def _order_rows(events: DataFrame, token: Column, last4: Column, brand: Column) -> DataFrame:
    return events.select(
        "payload.order_id",
        "event_id",
        *[f"payload.{c}" for c in ("customer_id", "merchant_id", "terminal_id")],
        token.alias("card_token"),
        last4.alias("card_last4"),
        brand.alias("card_brand"),
        "payload.amount",
        "payload.currency",
        F.size("payload.lines").alias("line_count"),
        "payload.placed_at",
        F.lit("placed").alias("status"),
        F.col("payload.placed_at").alias("status_changed_at"),
        F.lit(False).alias("has_chargeback"),
        F.lit(None).cast("timestamp").alias("chargeback_filed_at"),
        "occurred_at",
    )


def order_lines(events: DataFrame) -> DataFrame:
    exploded = events.select(
        "event_id", "payload.order_id", "payload.placed_at", F.posexplode("payload.lines").alias("position", "line")
    )
    return exploded.select(
        "event_id",
        "order_id",
        (F.col("position") + 1).alias("line_number"),
        "line.product_id",
        "line.category",
        "line.quantity",
        "line.unit_price",
        (F.col("line.quantity") * F.col("line.unit_price")).cast(MONEY).alias("line_amount"),
        "placed_at",
    )


def order_status_changes(events: DataFrame) -> DataFrame:
    return events.select("event_id", "payload.order_id", "payload.status", "payload.changed_at", "occurred_at")


def payments(events: DataFrame) -> DataFrame:
    fields = ("payment_id", "order_id", "amount", "method", "captured_at")
    return events.select("event_id", *[f"payload.{c}" for c in fields], "occurred_at")


def chargebacks(events: DataFrame) -> DataFrame:
    fields = ("chargeback_id", "order_id", "reason", "amount", "filed_at")
    return events.select("event_id", *[f"payload.{c}" for c in fields], "occurred_at")
