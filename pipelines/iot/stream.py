"""The telemetry stream: Kafka → silver readings (and scores), with bronze beside it, in two modes of one function.

Available-now (``trigger_seconds`` None): land what the topics hold now and stop; the Dagster asset and the main job
run this. Long-running (``trigger_seconds`` set, a few seconds): processing-time queries until ``stop`` is set
(`lakehouse stream telemetry`), stopped between micro-batches.

Silver reads each topic itself rather than the bronze table: a reading reaches silver in one micro-batch instead of
two (bronze's, then silver's), which is what keeps it seconds fresh on a small machine. Bronze still lands every
record, raw and exactly once, with the kit's bronze query; in long-running mode on a slower trigger, since nothing
waits for it. Both use the kit's queries and checkpoints, so either mode picks up where the other stopped, and every
silver write is a MERGE keyed by ``reading_id``: a micro-batch replayed after a crash (its checkpoint had not
recorded it) changes nothing. One checkpoint has one writer: never run both modes at once. Kafka keeps telemetry a
week: a silver stream stopped for longer would have to be backfilled from bronze.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from ingest.iot.contract import CONTRACT
from pipelines.core.bronze import BRONZE_SCHEMA, kafka_records, start_topic_to_delta
from pipelines.core.incremental import FlowReport, prepare_tables, start_silver_flow
from pipelines.core.merge import ensure_table
from pipelines.core.tables import DomainLake
from pipelines.iot.flows import FLOWS, STREAMED
from pipelines.iot.stream_lock import StreamBusy, checkpoint_lock

# How long a stop waits for a running micro-batch to finish before interrupting it (a replay would redo it safely).
GRACE_SECONDS = 60.0
# Bronze is the replayable record, not on the freshness path: bigger, rarer batches leave the cores to silver.
BRONZE_TRIGGER_SECONDS = 30.0

BatchListener = Callable[[str, int, FlowReport], None]


@dataclass
class StreamReport:
    """What a run did, per streamed entity (telemetry, scores), summed over its micro-batches."""

    flows: dict[str, FlowReport] = field(default_factory=dict)
    batches: int = 0
    skipped: str | None = None  # why an available-now run did nothing (a long-running stream holds the checkpoints)


def stream_topics(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Entity → topic for the streamed entities; tests pass their own topics to stay off the shared ones."""
    return dict(overrides) if overrides is not None else {entity: CONTRACT.entities[entity] for entity in STREAMED}


def run_telemetry_stream(
    spark: SparkSession,
    lake: DomainLake,
    *,
    bootstrap_servers: str,
    topics: Mapping[str, str] | None = None,
    trigger_seconds: float | None = None,
    stop: threading.Event | None = None,
    on_batch: BatchListener | None = None,
) -> StreamReport:
    """Run the streamed entities' bronze and silver: available-now, or every ``trigger_seconds`` until ``stop``."""
    report = StreamReport()
    lock = threading.Lock()

    def heard(entity: str) -> Callable[[int, FlowReport], None]:
        def record(batch_id: int, done: FlowReport) -> None:
            with lock:
                report.flows[entity].add(done)
                report.batches += 1
            if on_batch is not None:
                on_batch(entity, batch_id, done)

        return record

    chosen = stream_topics(topics)
    try:
        with checkpoint_lock(lake.silver_checkpoint("telemetry_stream")):
            for entity in chosen:
                report.flows[entity] = FlowReport()
                ensure_table(spark, lake.bronze(entity), BRONZE_SCHEMA)  # readers find a table before any record
                prepare_tables(spark, FLOWS[entity], lake)
            if trigger_seconds is None:
                for entity, topic in chosen.items():
                    _bronze(spark, lake, entity, topic, bootstrap_servers, None).awaitTermination()
                    _silver(spark, lake, entity, topic, bootstrap_servers, heard(entity), None).awaitTermination()
                return report
            queries = []
            for entity, topic in chosen.items():
                bronze_trigger = max(trigger_seconds, BRONZE_TRIGGER_SECONDS)
                queries.append(_bronze(spark, lake, entity, topic, bootstrap_servers, bronze_trigger))
                queries.append(_silver(spark, lake, entity, topic, bootstrap_servers, heard(entity), trigger_seconds))
            _run_until(queries, stop or threading.Event())
            return report
    except StreamBusy as busy:
        if trigger_seconds is not None:
            raise
        # A long-running stream owns the checkpoints and keeps silver fresh: an available-now run has nothing to do.
        report.skipped = str(busy)
        return report


def _bronze(
    spark: SparkSession, lake: DomainLake, entity: str, topic: str, servers: str, trigger: float | None
) -> StreamingQuery:
    return start_topic_to_delta(
        spark,
        bootstrap_servers=servers,
        topic=topic,
        table_path=lake.bronze(entity),
        checkpoint_path=lake.bronze_checkpoint(entity),
        trigger_seconds=trigger,
    )


def _silver(
    spark: SparkSession,
    lake: DomainLake,
    entity: str,
    topic: str,
    servers: str,
    listener: Callable[[int, FlowReport], None],
    trigger: float | None,
) -> StreamingQuery:
    source = kafka_records(spark, bootstrap_servers=servers, topic=topic)
    query = start_silver_flow(spark, FLOWS[entity], lake, listener, trigger_seconds=trigger, source=source)
    if query is None:  # cannot happen: a source was given
        raise RuntimeError(f"no silver query for {entity}")
    return query


def _run_until(queries: list[StreamingQuery], stop: threading.Event) -> None:
    """Wait for ``stop`` (or a failed query), then stop every query between micro-batches where possible."""
    try:
        while not stop.wait(0.5):
            failed = [query for query in queries if not query.isActive]
            if failed:
                raise RuntimeError(f"stream query {failed[0].name or failed[0].id} stopped: {failed[0].exception()}")
    finally:
        for query in queries:  # bronze before silver: nothing new reaches silver while it drains
            _stop_between_batches(query)


def _stop_between_batches(query: StreamingQuery) -> None:
    deadline = time.monotonic() + GRACE_SECONDS
    while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()
