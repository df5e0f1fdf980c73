"""E-commerce end to end on the real stack: Kafka → bronze → silver (+ quarantine, checks) → gold via Dagster.

Each test publishes to its own topics (the kit's bronze factory takes topic names) and writes a throwaway lake,
passed to the assets as a configured resource.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dagster import materialize
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from assets.core.domain import DomainAssets, domain_assets
from assets.core.keys import table_key
from assets.ecommerce import descriptions
from assets.resources import LakehouseResource
from ingest.core.envelope import EventEnvelope
from ingest.ecommerce import contract as ev
from lakehouse.settings import Settings
from pipelines.ecommerce.lakehouse import LAKEHOUSE

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
AMOUNTS = [Decimal("12.50"), Decimal("30.00"), Decimal("7.25"), Decimal("99.99"), Decimal("5.00"), Decimal("40.10")]


def make_topics(servers: str, prefix: str) -> dict[str, str]:
    topics = {entity: f"{prefix}.{entity}" for entity in LAKEHOUSE.contract.entities}
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1) for topic in topics.values()])
    admin.close()
    return topics


def publish(servers: str, records: list[tuple[str, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    for topic, value in records:
        producer.send(topic, key=b"k", value=value)
    producer.flush()
    producer.close()


def wrap(model: ev.EventPayload, event_type: str, key: str, at: datetime) -> bytes:
    payload = json.loads(model.model_dump_json())
    return EventEnvelope(type=event_type, version=1, key=key, payload=payload, occurred_at=at.isoformat()).to_json()


def placed(order_id: str, customer: str, amount: Decimal, at: datetime, currency: str = "EUR") -> ev.OrderPlacedV1:
    line = ev.OrderLineV1(product_id="p1", category="books", quantity=1, unit_price=amount)
    return ev.OrderPlacedV1(
        order_id=order_id,
        customer_id=customer,
        merchant_id="m1",
        terminal_id="t1",
        card_number="4111111111111111",
        amount=amount,
        currency=currency,
        lines=[line],
        placed_at=at,
    )


def good_events(topics: dict[str, str], run: str) -> list[tuple[str, bytes]]:
    records = []
    for c in range(3):
        customer = ev.CustomerRegisteredV1(
            customer_id=f"{run}-c{c}", email=f"{c}@example.com", full_name="A B", country="DE", registered_at=T0
        )
        records.append((topics["customers"], wrap(customer, "ecommerce.customer.registered", customer.customer_id, T0)))
    for i, amount in enumerate(AMOUNTS):
        at = T0 + timedelta(hours=i)
        order = placed(f"{run}-o{i}", f"{run}-c{i % 3}", amount, at)
        payment = ev.PaymentCapturedV1(
            payment_id=f"{run}-p{i}", order_id=order.order_id, amount=amount, method="card", captured_at=at
        )
        records.append((topics["orders"], wrap(order, "ecommerce.order.placed", order.order_id, at)))
        records.append((topics["payments"], wrap(payment, "ecommerce.payment.captured", order.order_id, at)))
    chargeback = ev.ChargebackFiledV1(
        chargeback_id=f"{run}-cb",
        order_id=f"{run}-o3",
        reason="fraud",
        amount=AMOUNTS[3],
        filed_at=T0 + timedelta(days=2),
    )
    records.append((topics["payments"], wrap(chargeback, "ecommerce.chargeback.filed", chargeback.order_id, T0)))
    return records


def bad_events(topics: dict[str, str], run: str) -> list[tuple[str, bytes]]:
    unknown = EventEnvelope(
        type="ecommerce.order.placed", version=7, key="x", payload={"order_id": f"{run}-v7"}
    ).to_json()
    no_amount = json.loads(
        ev.PaymentCapturedV1(
            payment_id="x", order_id="x", amount=Decimal(1), method="card", captured_at=T0
        ).model_dump_json()
    )
    del no_amount["amount"]
    missing = EventEnvelope(type="ecommerce.payment.captured", version=1, key="x", payload=no_amount).to_json()
    return [(topics["orders"], b"{oops"), (topics["orders"], unknown), (topics["payments"], missing)]


def assets_on(topics: dict[str, str]) -> DomainAssets:
    return domain_assets(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD, topics)


def resources_in(settings: Settings, lake_root) -> dict[str, LakehouseResource]:
    return {"lakehouse": LakehouseResource.from_settings(settings.model_copy(update={"lake_root": str(lake_root)}))}


def delta(spark, root, layer: str, table: str):
    return spark.read.format("delta").load(str(root / layer / table))


def test_bronze_to_gold_exactly_once_with_quarantine(stack_settings, spark, tmp_path, unique_name):
    servers = stack_settings.kafka_bootstrap_servers
    topics = make_topics(servers, unique_name)
    good = good_events(topics, unique_name)
    publish(servers, good + bad_events(topics, unique_name))
    built = assets_on(topics)
    pipeline = built.assets
    resources = resources_in(stack_settings, tmp_path)

    first = materialize([*pipeline, *built.checks], resources=resources)
    assert first.success
    assert all(e.passed for e in first.get_asset_check_evaluations())
    orders = delta(spark, tmp_path, "silver", "ecommerce_orders")
    assert sorted(r.order_id for r in orders.collect()) == sorted(f"{unique_name}-o{i}" for i in range(6))
    assert [r.order_id for r in orders.filter("has_chargeback").collect()] == [f"{unique_name}-o3"]
    reasons = sorted(r.reason for r in delta(spark, tmp_path, "quarantine", "ecommerce_events").collect())
    assert reasons == [
        "invalid JSON",
        "missing required field payload.amount",
        "unknown event type ecommerce.order.placed v7",
    ]
    (orders_run,) = [
        m
        for m in first.asset_materializations_for_node("ecommerce_orders_silver_flow")
        if m.asset_key == table_key("ecommerce", "silver", "orders")
    ]
    # 6 orders inserted, then 1 of them flagged with its chargeback; 2 records of the orders topic quarantined.
    assert (
        orders_run.metadata["rows_merged_this_run"].value,
        orders_run.metadata["rows_quarantined_this_run"].value,
    ) == (7, 2)
    by_merchant = delta(spark, tmp_path, "gold", "ecommerce_daily_sales_by_merchant").collect()
    assert [(r.merchant_id, r.orders, r.revenue, r.chargebacks) for r in by_merchant] == [("m1", 6, sum(AMOUNTS), 1)]

    # Re-runs of the topics this test feeds (the rest is exercised above; keeps the test short).
    fed = {"customers", "orders", "payments"}
    rerun = [a for a in built.bronze if a.key.path[-1] in fed]
    rerun += [a for a in built.silver if a.node_def.name in {f"ecommerce_{entity}_silver_flow" for entity in fed}]
    assert materialize(rerun, resources=resources).success  # nothing new: nothing changes
    publish(servers, good)  # at-least-once: every good event delivered again
    assert materialize(rerun, resources=resources).success

    for table, count in [("orders", 6), ("order_lines", 6), ("payments", 6), ("customers", 3), ("chargebacks", 1)]:
        assert delta(spark, tmp_path, "silver", f"ecommerce_{table}").count() == count, table
    assert delta(spark, tmp_path, "bronze", "ecommerce_orders").count() == 6 + 2 + 6
    assert delta(spark, tmp_path, "quarantine", "ecommerce_events").count() == 3
    spend = delta(spark, tmp_path, "gold", "ecommerce_customer_spend").collect()
    assert sum(r.spend_30d for r in spend) == sum(AMOUNTS)  # built by the first run; the orders are unchanged


def test_failing_silver_check_blocks_gold(stack_settings, spark, tmp_path, unique_name):
    # Lowercase currency passes the contract (three characters) but not the silver expectation ^[A-Z]{3}$.
    servers = stack_settings.kafka_bootstrap_servers
    topics = make_topics(servers, unique_name)
    publish(
        servers,
        [
            (
                topics["orders"],
                wrap(placed(f"{unique_name}-o", "c", Decimal("3.00"), T0, "eur"), "ecommerce.order.placed", "o", T0),
            )
        ],
    )
    built, orders = assets_on(topics), table_key("ecommerce", "silver", "orders")
    bronze = [a for a in built.bronze if a.key == table_key("ecommerce", "bronze", "orders")]
    orders_flow = [a for a in built.silver if orders in a.keys]
    orders_check = [c for c in built.checks if {k.asset_key for k in c.check_keys} == {orders}]
    by_merchant = [a for a in built.gold if a.key == table_key("ecommerce", "gold", "daily_sales_by_merchant")]

    result = materialize(
        [*bronze, *orders_flow, *orders_check, *by_merchant],
        resources=resources_in(stack_settings, tmp_path),
        raise_on_error=False,
    )

    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failed_expectations"].value[0]["on"] == "currency"
    assert delta(spark, tmp_path, "silver", "ecommerce_orders").count() == 1
    assert result.asset_materializations_for_node(by_merchant[0].node_def.name) == []
    assert not (tmp_path / "gold").exists()
