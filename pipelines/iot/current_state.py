"""Current state from two event streams: a device's registration and its newest status, a ticket as opened and
its newest update.

Each change is also kept as history (``device_status_changes``, ``ticket_updates``); after every batch the newest
change of each entity the batch touched is applied to the current-state row. Reading it from history rather than
from the batch makes the order irrelevant: a status change processed before its device's registration is applied
when the registration arrives.
"""

from __future__ import annotations

from collections.abc import Mapping

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.iot import contract as ev
from pipelines.core.merge import one_per_key, rows_changed
from pipelines.core.parse import ParsedBatch
from pipelines.core.tables import DomainLake


def apply_newest(
    spark: SparkSession, state_path: str, newest: DataFrame, key: str, newer_by: str, columns: Mapping[str, str]
) -> int:
    """Set ``columns`` (state column → change column) of each state row from its newest change, if newer."""
    target_time = next(state for state, change in columns.items() if change == newer_by)
    condition = f"t.`{target_time}` IS NULL OR s.`{newer_by}` > t.`{target_time}`"
    assignments = {f"`{state}`": f"s.`{change}`" for state, change in columns.items()}
    merge = DeltaTable.forPath(spark, state_path).alias("t").merge(newest.alias("s"), f"t.`{key}` = s.`{key}`")
    return rows_changed(merge.whenMatchedUpdate(condition=condition, set=assignments).execute())


def _touched(parsed: ParsedBatch, events: tuple[tuple[str, int], ...], key: str) -> DataFrame | None:
    frames = [parsed.events[e].select(F.col(f"payload.{key}").alias(key)) for e in events if parsed.valid.get(e)]
    if not frames:
        return None
    touched = frames[0]
    for frame in frames[1:]:
        touched = touched.unionByName(frame)
    return touched.distinct()


def _newest_changes(spark: SparkSession, history: str, touched: DataFrame, key: str, newer_by: str) -> DataFrame:
    changes = spark.read.format("delta").load(history).join(F.broadcast(touched), key)
    return one_per_key(changes, [key], [newer_by])


def device_status(spark: SparkSession, lake: DomainLake, parsed: ParsedBatch) -> dict[str, int]:
    touched = _touched(parsed, (ev.DEVICE_REGISTERED, ev.DEVICE_STATUS_CHANGED), "device_id")
    if touched is None:
        return {}
    newest = _newest_changes(spark, lake.silver("device_status_changes"), touched, "device_id", "changed_at")
    columns = {"status": "status", "status_reason": "reason", "status_changed_at": "changed_at"}
    return {"devices": apply_newest(spark, lake.silver("devices"), newest, "device_id", "changed_at", columns)}


def ticket_state(spark: SparkSession, lake: DomainLake, parsed: ParsedBatch) -> dict[str, int]:
    touched = _touched(parsed, (ev.TICKET_OPENED, ev.TICKET_UPDATED), "ticket_id")
    if touched is None:
        return {}
    newest = _newest_changes(spark, lake.silver("ticket_updates"), touched, "ticket_id", "updated_at")
    columns = {c: c for c in ("status", "alert_count", "note", "updated_by", "updated_at")}
    return {"tickets": apply_newest(spark, lake.silver("tickets"), newest, "ticket_id", "updated_at", columns)}
