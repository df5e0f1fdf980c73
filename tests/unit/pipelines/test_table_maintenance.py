"""Table maintenance on Spark-written tables: many small files become few, Z-ordered where the domain declares
it, with every row, the schema and the open protocol kept; a stream reading the table goes on without a duplicate;
VACUUM keeps what the time-travel window needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lakehouse.settings import Settings
from pipelines.core.engines import compare_engines
from pipelines.core.history import open_delta, restore_table, table_history
from pipelines.core.maintenance import upkeep_domain
from pipelines.core.tables import domain_lake
from pipelines.ecommerce.lakehouse import LAKEHOUSE

SCHEMA = "order_id STRING, customer_id STRING, amount DOUBLE, placed_at TIMESTAMP"
BATCHES, ROWS = 12, 5


def small_batches(spark, path: str, start: int = 0) -> None:
    """``BATCHES`` appends of ``ROWS`` orders, as a streaming flow writes them: a few files per micro-batch."""
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for batch in range(start, start + BATCHES):
        rows = [(f"o{batch}-{n}", f"c{n % 3}", float(n), at + timedelta(hours=batch)) for n in range(ROWS)]
        spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(path)


def test_small_files_are_compacted_and_z_ordered_keeping_rows_schema_protocol_and_streams(spark, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    lake = domain_lake(settings, "ecommerce")
    orders, quarantine = lake.silver("orders"), lake.quarantine()
    small_batches(spark, orders)
    spark.createDataFrame([("e1", "bad json")], "event_id STRING, reason STRING").write.format("delta").save(quarantine)
    # A stream reads the table (as silver reads bronze) before and after the OPTIMIZE.
    sink, checkpoint = str(tmp_path / "sink"), str(tmp_path / "checkpoint")

    def drain() -> None:
        stream = spark.readStream.format("delta").load(orders).writeStream.format("delta")
        stream.option("checkpointLocation", checkpoint).trigger(availableNow=True).start(sink).awaitTermination()

    drain()
    before = sorted(tuple(row) for row in spark.read.format("delta").load(orders).collect())

    done = {u.table: u for u in upkeep_domain(LAKEHOUSE, lake, settings.lake_time_travel_hours)}

    assert set(done) == {"ecommerce_orders", "ecommerce_events"}  # only the tables that exist
    upkeep = done["ecommerce_orders"]
    assert upkeep.files_before >= BATCHES and upkeep.files_after == 1 and not upkeep.skipped
    assert upkeep.zorder == ("customer_id", "placed_at") and done["ecommerce_events"].zorder == ()
    assert upkeep.files_vacuumed == 0  # every file is younger than the 7-day window
    assert sorted(tuple(row) for row in spark.read.format("delta").load(orders).collect()) == before
    assert compare_engines(spark, orders).agrees
    assert table_history(open_delta(settings, "silver/ecommerce_orders"), 1)[0].operation == "OPTIMIZE"

    small_batches(spark, orders, start=BATCHES)  # the flow goes on writing; the stream goes on reading
    drain()
    streamed = [row.order_id for row in spark.read.format("delta").load(sink).collect()]
    assert len(streamed) == len(set(streamed)) == 2 * BATCHES * ROWS

    # Within the window, a version from before the OPTIMIZE still reads and restores.
    table = open_delta(settings, "silver/ecommerce_orders")
    restore_table(table, version=BATCHES - 1)
    assert sorted(tuple(row) for row in spark.read.format("delta").load(orders).collect()) == before


def test_the_time_travel_window_cannot_go_below_deltas_safety_floor():
    with pytest.raises(ValidationError, match="lake_time_travel_hours"):
        Settings(lake_time_travel_hours=24)
    assert Settings().lake_time_travel_hours == 168


def test_z_order_must_name_a_silver_table_of_the_domain():
    with pytest.raises(ValueError, match=r"zorder for unknown silver table\(s\) \['nope'\]"):
        type(LAKEHOUSE)(LAKEHOUSE.contract, LAKEHOUSE.flows, zorder={"nope": ("a",)})
