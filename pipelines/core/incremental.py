"""Run a silver flow over what bronze gained since the last run: exactly once, whatever gets replayed.

Structured Streaming from the bronze Delta table (available-now, one checkpoint per flow) hands each new
slice of bronze to :func:`apply_batch`. Every write in it is a MERGE keyed by event (or entity, or Kafka
position for quarantine), so a batch retried after a crash, or an event published twice, changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

from ingest.core.contract import EventKey
from lakehouse.spark import generated_code
from pipelines.core.flow import SilverFlow, SilverTarget
from pipelines.core.merge import ensure_table, insert_new, upsert_latest
from pipelines.core.parse import QUARANTINE_SCHEMA, RESCUED, ParsedBatch, classify, split, typed_event_schema
from pipelines.core.tables import DomainLake

QUARANTINE_KEYS = ("topic", "partition", "offset")
# A batch this large has its MERGEs and writes run on Spark's generated code: compiling it costs a few seconds a batch,
# which interpreting the small batches of a schedule saves (lakehouse/spark.py), and which the large batches of a
# backfill win back (200k order events: Delta silver 18.3 s generated, 25.3 s interpreted).
GENERATED_CODE_FROM = 20_000
log = logging.getLogger(__name__)


@dataclass
class FlowReport:
    """What one run did: rows inserted or updated per silver table, records quarantined and why."""

    merged: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    # Rows each target's transform produced before its MERGE (offered − merged: duplicates or stale replays), and
    # the rows with each of the target's ``flags`` set, keyed (table, flag).
    offered: Counter[str] = field(default_factory=Counter)
    flagged: Counter[tuple[str, str]] = field(default_factory=Counter)
    records: int = 0  # bronze records read: valid events plus rejected ones

    @property
    def quarantine_rate(self) -> float:
        """Share of the records read that were refused (0 when none was read)."""
        return sum(self.reasons.values()) / self.records if self.records else 0.0

    def add(self, other: FlowReport) -> None:
        self.merged.update(other.merged)
        self.quarantined += other.quarantined
        self.reasons.update(other.reasons)
        self.offered.update(other.offered)
        self.flagged.update(other.flagged)
        self.records += other.records


def silver_schema(rows: DataFrame) -> T.StructType:
    """A silver table's columns: its rows function's, then the payload fields the contract did not know."""
    return T.StructType([*rows.schema.fields, T.StructField(RESCUED, T.StringType())])


def prepare_tables(spark: SparkSession, flow: SilverFlow, lake: DomainLake) -> None:
    for target in flow.targets:
        empty = spark.createDataFrame([], typed_event_schema(flow.handled[target.event]))
        ensure_table(spark, lake.silver(target.table), silver_schema(target.rows(empty)))
    ensure_table(spark, lake.quarantine(), QUARANTINE_SCHEMA)


def _count_routes(classified: DataFrame) -> tuple[dict[EventKey, int], dict[EventKey, int], Counter[str]]:
    """Valid events per type, those of them with rescued fields, and refused records per reason: one pass."""
    valid: dict[EventKey, int] = {}
    rescued: dict[EventKey, int] = {}
    reasons: Counter[str] = Counter()
    counts = classified.groupBy("event_type", "event_version", "reason").agg(
        F.count(F.lit(1)).alias("count"), F.count(RESCUED).alias("rescued")
    )
    for row in counts.collect():
        if row["reason"] is None:
            valid[(row["event_type"], row["event_version"])] = row["count"]
            rescued[(row["event_type"], row["event_version"])] = row["rescued"]
        else:
            reasons[row["reason"]] += row["count"]
    return valid, rescued, reasons


def target_rows(target: SilverTarget, parsed: ParsedBatch) -> DataFrame | None:
    """The rows ``target`` gets from the batch: every version of its event there, in the table's columns (a column
    an older version lacks is null); None when the batch has none of them."""
    present = [(key, rows) for key, rows in target.events.items() if parsed.valid.get(key)]
    if not present:
        return None
    table = target.rows(parsed.events[target.event]).schema  # planned only: the current version's columns

    def aligned(frame: DataFrame) -> DataFrame:
        return frame.select(
            *[(F.col(c.name) if c.name in frame.columns else F.lit(None)).cast(c.dataType).alias(c.name) for c in table]
        )

    versions = reduce(DataFrame.unionByName, [aligned(rows(parsed.events[key])) for key, rows in present])
    return with_rescued(target, versions, [parsed.events[key] for key, _ in present if parsed.rescued.get(key)])


def with_rescued(target: SilverTarget, rows: DataFrame, rescuing: list[DataFrame]) -> DataFrame:
    """``rows`` with the ``RESCUED`` fields of the events that made them (``rescuing``: the batch's events of the
    types that have some). The rows functions pick their columns, so the kit joins it back by ``event_id``; a
    batch without rescued fields (the usual case) runs no join."""
    if rescuing and "event_id" in rows.columns:
        rescued = reduce(DataFrame.unionByName, [e.select("event_id", RESCUED) for e in rescuing])
        # A re-delivered event is in the batch twice: one rescued row per event, or the join would double its rows.
        rescued = rescued.filter(F.col(RESCUED).isNotNull()).dropDuplicates(["event_id"])
        return rows.join(rescued, "event_id", "left").select(*rows.columns, RESCUED)
    if rescuing:  # the table keeps no event_id to join on: its rows keep no rescued fields
        log.warning("%s: rows without event_id, so the payload fields the contract lacks are not kept", target.table)
    return rows.withColumn(RESCUED, F.lit(None).cast(T.StringType()))


def _merge_target(spark: SparkSession, target: SilverTarget, path: str, rows: DataFrame, report: FlowReport) -> None:
    if target.flags:  # counted before the MERGE, in one pass over the (cached) batch
        counts = rows.agg(F.count(F.lit(1)), *[F.count_if(F.col(flag)) for flag in target.flags]).first()
        report.offered[target.table] += counts[0]
        for position, flag in enumerate(target.flags, start=1):
            report.flagged[(target.table, flag)] += counts[position]
    if target.newer_by:
        report.merged[target.table] += upsert_latest(spark, path, rows, target.keys, target.newer_by)
    else:
        report.merged[target.table] += insert_new(spark, path, rows, target.keys)


def apply_batch(spark: SparkSession, flow: SilverFlow, lake: DomainLake, bronze: DataFrame) -> FlowReport:
    """Route one slice of bronze into the flow's silver tables and quarantine; MERGEs only what is there."""
    classified = classify(bronze, flow.handled, flow.known).persist()
    try:
        valid, rescued, reasons = _count_routes(classified)
        parsed = replace(split(classified, flow.handled), valid=valid, rescued=rescued)
        report = FlowReport(reasons=reasons, records=sum(valid.values()) + sum(reasons.values()))
        with generated_code(spark) if report.records >= GENERATED_CODE_FROM else nullcontext():
            for target in flow.targets:
                rows = target_rows(target, parsed)
                if rows is not None:
                    _merge_target(spark, target, lake.silver(target.table), rows, report)
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
    query = start_silver_flow(spark, flow, lake, lambda _batch_id, done: total.add(done))
    if query is not None:  # no bronze table yet: the topic has never had a record
        query.awaitTermination()
    for step in flow.after_run:
        total.merged.update(step(spark, lake))
    return total


def start_silver_flow(
    spark: SparkSession,
    flow: SilverFlow,
    lake: DomainLake,
    on_batch: Callable[[int, FlowReport], None],
    *,
    trigger_seconds: float | None = None,
    source: DataFrame | None = None,
) -> StreamingQuery | None:
    """Start the flow's stream over bronze: available-now (``trigger_seconds`` None) or every ``trigger_seconds``;
    ``on_batch`` hears what each micro-batch did. None when bronze does not exist yet. Call
    :func:`prepare_tables` first; the ``after_run`` steps are the caller's.

    ``source``: a stream of bronze-shaped rows to read instead of the bronze table (e.g. the topic itself, via
    :func:`pipelines.core.bronze.kafka_records`, to skip bronze's hop); a checkpoint keeps the source it began with.
    """
    bronze = lake.bronze(flow.entity)
    if source is None and not DeltaTable.isDeltaTable(spark, bronze):
        return None

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        # The stream runs on a clone of the session with adaptive execution off (it could change a stateful
        # query's partitioning between batches). These flows keep no state, and every batch's MERGEs and joins
        # are batch queries: they get it back (runtime broadcast joins, coalesced shuffles).
        batch.sparkSession.conf.set("spark.sql.adaptive.enabled", "true")
        on_batch(batch_id, apply_batch(batch.sparkSession, flow, lake, batch))

    rows = source if source is not None else spark.readStream.format("delta").load(bronze)
    stream = rows.writeStream.foreachBatch(each_batch)
    query = stream.option("checkpointLocation", lake.silver_checkpoint(flow.entity))
    trigger = {"availableNow": True} if trigger_seconds is None else {"processingTime": f"{trigger_seconds} seconds"}
    return query.trigger(**trigger).start()
