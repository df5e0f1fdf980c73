"""Run a silver flow over what bronze gained since the last run: exactly once, whatever gets replayed.

Structured Streaming from the bronze Delta table (available-now, one checkpoint per flow) hands each new
slice of bronze to :func:`apply_batch`. Every write in it is a MERGE keyed by event (or entity, or Kafka
position for quarantine), so a batch retried after a crash, or an event published twice, changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from ingest.core.contract import EventKey
from pipelines.core.flow import SilverFlow, SilverTarget
from pipelines.core.merge import ensure_table, insert_new, upsert_latest
from pipelines.core.parse import QUARANTINE_SCHEMA, classify, split, typed_event_schema
from pipelines.core.tables import DomainLake

QUARANTINE_KEYS = ("topic", "partition", "offset")


@dataclass
class FlowReport:
    """What one run did: rows inserted or updated per silver table, records quarantined and why."""

    merged: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def prepare_tables(spark: SparkSession, flow: SilverFlow, lake: DomainLake) -> None:
    for target in flow.targets:
        empty = spark.createDataFrame([], typed_event_schema(flow.handled[target.event]))
        ensure_table(spark, lake.silver(target.table), target.rows(empty).schema)
    ensure_table(spark, lake.quarantine(), QUARANTINE_SCHEMA)


def _count_routes(classified: DataFrame) -> tuple[dict[EventKey, int], Counter[str]]:
    valid: dict[EventKey, int] = {}
    reasons: Counter[str] = Counter()
    for row in classified.groupBy("event_type", "event_version", "reason").count().collect():
        if row["reason"] is None:
            valid[(row["event_type"], row["event_version"])] = row["count"]
        else:
            reasons[row["reason"]] += row["count"]
    return valid, reasons


def _merge_target(spark: SparkSession, target: SilverTarget, path: str, events: DataFrame) -> int:
    if target.newer_by:
        return upsert_latest(spark, path, target.rows(events), target.keys, target.newer_by)
    return insert_new(spark, path, target.rows(events), target.keys)


def apply_batch(spark: SparkSession, flow: SilverFlow, lake: DomainLake, bronze: DataFrame) -> FlowReport:
    """Route one slice of bronze into the flow's silver tables and quarantine; MERGEs only what is there."""
    classified = classify(bronze, flow.handled, flow.known).persist()
    try:
        valid, reasons = _count_routes(classified)
        parsed = replace(split(classified, flow.handled), valid=valid)
        report = FlowReport(reasons=reasons)
        for target in flow.targets:
            if valid.get(target.event):
                report.merged[target.table] += _merge_target(
                    spark, target, lake.silver(target.table), parsed.events[target.event]
                )
        for step in flow.after_batch:
            report.merged.update(step(spark, lake, parsed))
        if reasons:
            report.quarantined = insert_new(spark, lake.quarantine(), parsed.quarantine, QUARANTINE_KEYS)
        return report
    finally:
        classified.unpersist()


def run_silver_flow(spark: SparkSession, flow: SilverFlow, lake: DomainLake) -> FlowReport:
    """Process every bronze row of ``flow.entity`` not processed by an earlier run, then stop."""
    prepare_tables(spark, flow, lake)
    total = FlowReport(merged=Counter({target.table: 0 for target in flow.targets}))

    def each_batch(batch: DataFrame, _batch_id: int) -> None:
        done = apply_batch(batch.sparkSession, flow, lake, batch)
        total.merged.update(done.merged)
        total.quarantined += done.quarantined
        total.reasons.update(done.reasons)

    bronze = lake.bronze(flow.entity)
    if DeltaTable.isDeltaTable(spark, bronze):  # no bronze table yet: the topic has never had a record
        stream = spark.readStream.format("delta").load(bronze).writeStream.foreachBatch(each_batch)
        query = stream.option("checkpointLocation", lake.silver_checkpoint(flow.entity))
        query.trigger(availableNow=True).start().awaitTermination()
    for step in flow.after_run:
        total.merged.update(step(spark, lake))
    return total
