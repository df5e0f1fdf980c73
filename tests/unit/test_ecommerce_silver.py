"""Silver on hand-built bronze rows: routing, quarantine reasons, dedupe, newest-wins state, PII, order status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from local_lake import local_lake
from pyspark.sql import DataFrame, SparkSession

from ingest.core.envelope import EventEnvelope
from ingest.ecommerce import contract as ev
from pipelines.core.expectations import PANDAS_MAX_ROWS, validate_silver, validate_version
from pipelines.core.incremental import run_silver_flow
from pipelines.core.parse import split_events
from pipelines.core.tables import DomainLake
from pipelines.ecommerce.expectations import SILVER_EXPECTATIONS
from pipelines.ecommerce.flows import FLOWS

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
BRONZE_SCHEMA = "key string, value string, topic string, partition int, offset long, kafka_timestamp timestamp, ingested_at timestamp"


def envelope(
    event_type: str, payload: dict, *, version: int | None = None, event_id: str | None = None, at: datetime = T0
) -> str:
    extra = {"event_id": event_id} if event_id else {}
    if version is None:  # the version the app publishes: orders are at 2 (the card as a token)
        version = 2 if event_type == "ecommerce.order.placed" else 1
    return (
        EventEnvelope(type=event_type, version=version, key="k", payload=payload, occurred_at=at.isoformat(), **extra)
        .to_json()
        .decode()
    )


TOKEN = "ab" * 32


def order(order_id: str = "o1", **changes) -> dict:
    card = dict(card_token=TOKEN, card_last4="1111", card_brand="visa")
    return json.loads(ev.OrderPlacedV2(**_order_fields(order_id), **card).model_dump_json()) | changes


def order_v1(order_id: str = "o1") -> dict:
    """As published before tokenisation: the card number itself."""
    return json.loads(ev.OrderPlacedV1(**_order_fields(order_id), card_number="4111111111111111").model_dump_json())


def _order_fields(order_id: str) -> dict:
    line = ev.OrderLineV1(product_id="p1", category="books", quantity=2, unit_price=Decimal("5.00"))
    return dict(
        order_id=order_id,
        customer_id="c1",
        merchant_id="m1",
        terminal_id="t1",
        amount=Decimal("10.00"),
        currency="EUR",
        lines=[line],
        placed_at=T0,
    )


def customer(customer_id: str, email: str, country: str = "DE") -> dict:
    model = ev.CustomerRegisteredV1(
        customer_id=customer_id, email=email, full_name="Ada Lovelace", country=country, registered_at=T0
    )
    return json.loads(model.model_dump_json())


def bronze(spark: SparkSession, values: list[str], topic: str = ev.ORDERS_TOPIC, first_offset: int = 0) -> DataFrame:
    rows = [(None, value, topic, 0, first_offset + i, T0, T0) for i, value in enumerate(values)]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


@pytest.fixture
def lake(tmp_path) -> DomainLake:
    return local_lake("ecommerce", tmp_path)


def land(spark: SparkSession, lake: DomainLake, entity: str, values: list[str], first_offset: int = 0) -> None:
    topic = f"ecommerce.{entity}"
    bronze(spark, values, topic, first_offset).write.format("delta").mode("append").save(lake.bronze(entity))


def read(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def test_good_rows_flow_and_each_bad_row_is_quarantined_with_its_reason(spark):
    status = {"order_id": "o1", "status": "paid", "changed_at": T0.isoformat()}
    payment = {"payment_id": "x", "order_id": "o1", "amount": "10.00", "method": "card", "captured_at": T0.isoformat()}
    bad_line = order("o9")
    bad_line["lines"][0]["quantity"] = 0
    no_amount = order("o5")
    del no_amount["amount"]
    values = [
        envelope("ecommerce.order.placed", order("o1")),
        envelope("ecommerce.order.status_changed", status),
        "{not json",
        envelope("ecommerce.order.placed", order("o2"), version=7),
        envelope("ecommerce.order.placed", no_amount),
        envelope("ecommerce.order.placed", order("o6", amount="0.00")),
        envelope("ecommerce.order.placed", order("o7", currency="EU")),
        envelope("ecommerce.order.placed", order("o8", amount="lots")),
        envelope("ecommerce.order.placed", bad_line),
        envelope("ecommerce.payment.captured", payment),
        json.dumps(
            {"type": "ecommerce.order.placed", "version": 2, "occurred_at": T0.isoformat(), "payload": order("o3")}
        ),
        "[1, 2]",
    ]
    parsed = split_events(bronze(spark, values), FLOWS["orders"].handled, ev.EVENT_SCHEMAS.keys())

    assert [r.payload.order_id for r in parsed.events[("ecommerce.order.placed", 2)].collect()] == ["o1"]
    assert [r.payload.status for r in parsed.events[("ecommerce.order.status_changed", 1)].collect()] == ["paid"]
    reasons = {r.offset: r.reason for r in parsed.quarantine.collect()}
    assert reasons == {
        2: "invalid JSON",
        3: "unknown event type ecommerce.order.placed v7",
        4: "missing required field payload.amount",
        5: "payload.amount must be greater than 0",
        6: "payload.currency must have a length of at least 3",
        7: "invalid value for payload.amount",
        8: "payload.lines[].quantity must be greater than 0",
        9: "event type ecommerce.payment.captured v1 does not belong on this topic",
        10: "missing required field event_id",
        11: "envelope is not a JSON object",
    }
    unknown = parsed.quarantine.filter("offset = 3").first()
    assert (unknown.event_type, unknown.event_version, unknown.topic, unknown.partition) == (
        "ecommerce.order.placed",
        7,
        ev.ORDERS_TOPIC,
        0,
    )
    assert unknown.value == values[3] and unknown.quarantined_at is not None


def test_duplicates_and_reruns_never_add_rows(spark, lake):
    placed = envelope("ecommerce.order.placed", order("o1"), event_id="e1")
    land(spark, lake, "orders", [placed, placed, "oops"])
    first = run_silver_flow(spark, FLOWS["orders"], lake)
    land(spark, lake, "orders", [placed], first_offset=3)  # an at-least-once redelivery in a later batch
    second = run_silver_flow(spark, FLOWS["orders"], lake)
    version = spark.sql(f"DESCRIBE HISTORY delta.`{lake.silver('orders')}`").first().version
    third = run_silver_flow(spark, FLOWS["orders"], lake)

    assert read(spark, lake.silver("orders")).count() == 1
    assert read(spark, lake.silver("order_lines")).count() == 1
    assert read(spark, lake.quarantine()).count() == 1
    assert (first.merged["orders"], first.quarantined, dict(first.reasons)) == (1, 1, {"invalid JSON": 1})
    assert (second.merged["orders"], second.quarantined) == (0, 0)
    assert (third.merged["orders"], third.quarantined) == (0, 0)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{lake.silver('orders')}`").first().version == version


def test_current_state_ignores_an_older_event_arriving_late(spark, lake):
    newer = envelope(
        "ecommerce.customer.registered", customer("c1", "new@example.com", "FR"), at=T0 + timedelta(hours=1)
    )
    older = envelope("ecommerce.customer.registered", customer("c1", "old@example.com", "DE"), at=T0)
    same_batch_older = envelope("ecommerce.customer.registered", customer("c2", "b@example.com", "IT"), at=T0)
    same_batch_newer = envelope(
        "ecommerce.customer.registered", customer("c2", "b@example.com", "ES"), at=T0 + timedelta(minutes=5)
    )
    land(spark, lake, "customers", [newer, same_batch_newer, same_batch_older])
    run_silver_flow(spark, FLOWS["customers"], lake)
    land(spark, lake, "customers", [older], first_offset=3)
    run_silver_flow(spark, FLOWS["customers"], lake)

    got = {r.customer_id: r.country for r in read(spark, lake.silver("customers")).collect()}
    assert got == {"c1": "FR", "c2": "ES"}


def test_no_email_name_or_card_number_reaches_silver(spark, lake):
    land(spark, lake, "customers", [envelope("ecommerce.customer.registered", customer("c1", "Ada@Example.com"))])
    # A version-1 order from before tokenisation (the number itself) beside a version-2 one (the app's token).
    land(spark, lake, "orders", [envelope("ecommerce.order.placed", order_v1("o0"), version=1)])
    land(spark, lake, "orders", [envelope("ecommerce.order.placed", order("o1"))], first_offset=1)
    run_silver_flow(spark, FLOWS["customers"], lake)
    run_silver_flow(spark, FLOWS["orders"], lake)

    tables = ["customers", "orders", "order_lines", "order_status_changes"]
    text = " ".join(str(row.asDict()) for t in tables for row in read(spark, lake.silver(t)).collect())
    for secret in ("Ada@Example.com", "ada@example.com", "Ada Lovelace", "4111111111111111"):
        assert secret not in text
    assert "full_name" not in read(spark, lake.silver("customers")).columns
    (hashed,) = read(spark, lake.silver("customers")).collect()
    assert len(hashed.email_hash) == 64 and int(hashed.email_hash, 16) >= 0
    cards = {
        r.order_id: (r.card_token, r.card_last4, r.card_brand) for r in read(spark, lake.silver("orders")).collect()
    }
    assert cards == {"o0": (None, "1111", "visa"), "o1": (TOKEN, "1111", "visa")}
    assert read(spark, lake.silver("order_lines")).count() == 2  # both versions' lines


def test_an_existing_orders_table_gains_the_new_columns_old_rows_null(spark, lake):
    """Schema evolution: a table written before version 2 (an unkeyed ``card_hash``, no token) takes the new
    columns; its rows keep theirs with the new ones null, new rows fill them."""
    land(spark, lake, "orders", [envelope("ecommerce.order.placed", order_v1("o0"), version=1)])
    run_silver_flow(spark, FLOWS["orders"], lake)
    old = read(spark, lake.silver("orders")).drop("card_token", "card_last4", "card_brand")
    old.withColumn("card_hash", old.order_id).write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).save(lake.silver("orders"))
    land(spark, lake, "orders", [envelope("ecommerce.order.placed", order("o1"))], first_offset=1)
    run_silver_flow(spark, FLOWS["orders"], lake)

    rows = {r.order_id: r for r in read(spark, lake.silver("orders")).collect()}
    assert (rows["o0"].card_hash, rows["o0"].card_token, rows["o0"].card_last4) == ("o0", None, None)
    assert (rows["o1"].card_hash, rows["o1"].card_token, rows["o1"].card_last4) == (None, TOKEN, "1111")


def test_order_status_and_chargeback_whatever_the_arrival_order(spark, lake):
    def change(status: str, minutes: int) -> str:
        at = T0 + timedelta(minutes=minutes)
        return envelope(
            "ecommerce.order.status_changed", {"order_id": "o1", "status": status, "changed_at": at.isoformat()}, at=at
        )

    chargeback = {
        "chargeback_id": "cb1",
        "order_id": "o1",
        "reason": "fraud",
        "amount": "10.00",
        "filed_at": (T0 + timedelta(days=3)).isoformat(),
    }
    land(spark, lake, "payments", [envelope("ecommerce.chargeback.filed", chargeback)])
    land(spark, lake, "orders", [change("shipped", 30)])  # before the order itself
    run_silver_flow(spark, FLOWS["payments"], lake)
    run_silver_flow(spark, FLOWS["orders"], lake)
    land(spark, lake, "orders", [envelope("ecommerce.order.placed", order("o1")), change("paid", 10)], first_offset=1)
    run_silver_flow(spark, FLOWS["orders"], lake)

    (row,) = read(spark, lake.silver("orders")).collect()
    assert (row.status, row.status_changed_at, row.has_chargeback) == ("shipped", datetime(2026, 3, 1, 10, 30), True)
    assert row.chargeback_filed_at == datetime(2026, 3, 4, 10, 0)


# What the orders suite finds in the tests' bad rows below (a null amount or token is not judged).
BAD_ORDERS_FAIL = {
    ("expect_column_values_to_be_unique", "order_id"): 2,
    ("expect_column_values_to_not_be_null", "customer_id"): 1,
    ("expect_column_values_to_be_between", "amount"): 1,
    ("expect_column_values_to_be_in_set", "status"): 1,
    ("expect_column_values_to_match_regex", "card_last4"): 1,
}


def failures(outcome) -> dict[tuple[str, str], int]:
    return {(f["expectation"], f["on"]): f["unexpected_count"] for f in outcome.failed}


# A small table is validated on pandas (the default); 0 forces Spark, which larger tables get: both must judge alike.
@pytest.mark.parametrize(("pandas_max_rows", "engine"), [(PANDAS_MAX_ROWS, "pandas"), (0, "spark")])
def test_silver_expectations_name_what_failed(spark, pandas_max_rows, engine):
    schema = "order_id string, event_id string, customer_id string, amount decimal(18,2), currency string, card_token string, card_last4 string, status string"
    good = ("o1", "e1", "c1", Decimal("10.00"), "EUR", "a" * 64, "1111", "paid")
    passed = validate_silver(
        spark.createDataFrame([good], schema), "orders", SILVER_EXPECTATIONS["orders"], pandas_max_rows
    )
    assert passed.success and passed.engine == engine
    bad = [
        good,
        ("o1", "e2", None, Decimal("0.00"), "EUR", "a" * 64, "1111", "lost"),
        ("o3", "e3", "c3", None, "EUR", None, "12", "paid"),
    ]
    outcome = validate_silver(
        spark.createDataFrame(bad, schema), "orders", SILVER_EXPECTATIONS["orders"], pandas_max_rows
    )
    assert not outcome.success and outcome.engine == engine
    assert failures(outcome) == BAD_ORDERS_FAIL


# What a check runs: the table read as of one version, by delta-rs into pandas when small, else on Spark (0 forces
# it). Both judge the version asked for, not the newest, and alike.
@pytest.mark.parametrize(("pandas_max_rows", "engine"), [(PANDAS_MAX_ROWS, "pandas"), (0, "spark")])
def test_a_table_version_is_judged_alike_read_by_delta_rs_or_spark(spark, tmp_path, pandas_max_rows, engine):
    schema = "order_id string, event_id string, customer_id string, amount decimal(18,2), currency string, card_token string, card_last4 string, status string, placed_at timestamp"
    at = datetime(2026, 3, 1, 10, 0)
    good = ("o1", "e1", "c1", Decimal("10.00"), "EUR", "a" * 64, "1111", "paid", at)
    path = str(tmp_path / "orders")
    spark.createDataFrame([good], schema).write.format("delta").save(path)
    bad = [
        ("o1", "e2", None, Decimal("0.00"), "EUR", "a" * 64, "1111", "lost", at),
        ("o3", "e3", "c3", None, "EUR", None, "12", "paid", None),
    ]
    spark.createDataFrame(bad, schema).write.format("delta").mode("append").save(path)
    suite = SILVER_EXPECTATIONS["orders"]
    first = validate_version(spark, path, 0, "silver_orders", suite(), pandas_max_rows)
    assert first.success and first.engine == engine
    second = validate_version(spark, path, 1, "silver_orders", suite(), pandas_max_rows)
    assert not second.success and second.engine == engine
    assert failures(second) == BAD_ORDERS_FAIL
