"""End to end: orders placed live and the same orders imported from CSV travel app → outbox → relay (killed
once mid-way) → Kafka → bronze → silver → gold through the README's main job, exactly once, twice over."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from pyspark.sql import functions as F

from entrypoints.main_job import run_main_job, traffic_config
from ingest.core.relay import open_relay, relay_once
from ingest.ecommerce.generator import generate, simulate
from ingest.ecommerce.importer import ImportOptions, import_csv
from ingest.ecommerce.relay import open_relay_sources
from ingest.ecommerce.traffic_cli import app_sink
from ingest.ecommerce.transaction_csv import write_csv
from lakehouse import lake
from lakehouse.settings import Settings
from serving.registry import served_model
from serving.server import stop_detached_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 40
COMPARED = ["customer_id", "merchant_id", "terminal_id", "card_hash", "amount", "placed_at", "status", "has_chargeback"]


class RelayKilled(RuntimeError):
    pass


def kill_relay_after_first_publish() -> None:
    raise RelayKilled("simulated crash after Kafka acknowledged, before the outbox rows were marked sent")


def silver_orders(spark, settings: Settings, prefix: str):
    orders = spark.read.format("delta").load(lake.table_path(settings, "silver", "ecommerce_orders"))
    return orders.filter(F.col("order_id").startswith(prefix))


def strip_prefix(frame, prefix: str):
    for column in ("order_id", "customer_id", "merchant_id", "terminal_id"):
        frame = frame.withColumn(column, F.expr(f"substring({column}, {len(prefix) + 1})"))
    return frame


def test_live_and_imported_orders_land_once_through_the_main_job(stack_settings, spark, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    seed = random.randrange(10**6, 10**7)
    # A fixed end of the window: generated ids depend on it, and a run may cross the top of an hour.
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    config = traffic_config(ORDERS, seed, now)
    with app_sink(settings, actor="test-live") as sink:
        live = generate(config, sink)
    history = tmp_path / "history.csv"
    write_csv((order.transaction for order in simulate(config)), history, known_at=config.window_end())
    with app_sink(settings, actor="test-import") as sink:
        imported = import_csv(history, None, sink, None, ImportOptions(id_prefix="imp-"))
    assert (imported.orders, imported.rejected, imported.chargebacks_emitted) == (ORDERS, 0, live.chargebacks_emitted)
    with open_relay(settings, open_relay_sources) as (sources, producer), pytest.raises(RelayKilled):
        relay_once(sources, producer, batch_size=50, after_publish=kill_relay_after_first_publish)

    lines: list[str] = []
    try:
        first = run_main_job(settings, orders=ORDERS, seed=seed, progress=lines.append, now=now)
        second = run_main_job(settings, orders=ORDERS, seed=seed, progress=lines.append, now=now)
    finally:
        stop_detached_server(settings, served_model("fraud"))  # the main job leaves it running for a person to try

    live_prefix, imported_prefix = f"o{seed}-", f"imp-o{seed}-"
    live_rows = silver_orders(spark, settings, live_prefix)
    imported_rows = silver_orders(spark, settings, imported_prefix)
    assert live_rows.count() == ORDERS == imported_rows.count()
    assert live_rows.filter("has_chargeback").count() == live.chargebacks_emitted
    expected = sorted(tuple(row) for row in live_rows.select("order_id", *COMPARED).collect())
    got = sorted(tuple(row) for row in strip_prefix(imported_rows, "imp-").select("order_id", *COMPARED).collect())
    assert got == expected

    # The second run replayed every generated command; only the first run's demo orders, placed after its relay,
    # were new to Kafka: each an order.placed, plus a status change to review when the service did not approve.
    assert second.events_published == sum(1 + (demo.decision != "approve") for demo in first.demo_orders)
    demo_ids = [demo.order_id for demo in first.demo_orders]
    orders = spark.read.format("delta").load(lake.table_path(settings, "silver", "ecommerce_orders"))
    assert orders.filter(F.col("order_id").isin(demo_ids)).count() == len(demo_ids) == 3
    assert all(demo.status_code == 201 for demo in first.demo_orders)
    assert second.rows("gold", "ecommerce_daily_sales_by_category") > 0
    assert any(line.startswith("[5/8] materialising all Dagster assets") for line in lines)
