"""The telemetry stream as a Dagster asset: bronze and silver of telemetry and scores, available-now (silver reads
the topics themselves, bronze lands them beside it).

The same function `lakehouse stream telemetry` runs long-running; here it processes what is waiting and stops, so
the job's run and the long-running stream share checkpoints (run one or the other at a time).
"""

from collections.abc import Iterator, Mapping

from dagster import AssetExecutionContext, AssetsDefinition, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.core.executor import lane
from assets.core.keys import table_key
from assets.core.lake import flow_metadata, table_metadata
from assets.iot.descriptions import SILVER
from assets.resources import LakehouseResource
from pipelines.core.incremental import FlowReport
from pipelines.core.tables import domain_lake
from pipelines.iot.flows import FLOWS
from pipelines.iot.stream import run_telemetry_stream, stream_topics

DOMAIN = "iot"


def _specs(topics: Mapping[str, str]) -> list[AssetSpec]:
    specs = []
    for entity, topic in topics.items():
        bronze = table_key(DOMAIN, "bronze", entity)
        specs.append(
            AssetSpec(
                bronze,
                group_name=DOMAIN,
                kinds={"spark", "delta", "kafka"},
                description=f"Every record published to {topic}, raw and exactly once, with its Kafka position.",
            )
        )
        # Silver reads the topic itself (one hop: see `pipelines/iot/stream.py`), not the bronze table.
        for target in FLOWS[entity].targets:
            key = table_key(DOMAIN, "silver", target.table)
            specs.append(
                AssetSpec(key, group_name=DOMAIN, kinds={"spark", "delta", "kafka"}, description=SILVER[target.table])
            )
    return specs


def stream_metadata(report: FlowReport, table: str) -> dict[str, object]:
    """The kit's flow metadata plus rows in, duplicates dropped and the flagged rows (late readings, alerts)."""
    offered = report.offered[table]
    flagged = {
        f"{flag}_rows_this_run": MetadataValue.int(count)
        for (name, flag), count in report.flagged.items()
        if name == table
    }
    return {
        **flow_metadata(report, table),
        "rows_in_this_run": MetadataValue.int(offered),
        "duplicates_dropped_this_run": MetadataValue.int(max(offered - report.merged[table], 0)),
        **flagged,
    }


def telemetry_stream_asset(topics: Mapping[str, str] | None = None) -> AssetsDefinition:
    """The stream asset; ``topics`` (entity → topic) replaces the contract's, for tests."""
    chosen = stream_topics(topics)

    @multi_asset(name="iot_telemetry_stream", specs=_specs(chosen), op_tags=lane(f"{DOMAIN}-silver"))
    def _stream(context: AssetExecutionContext, lakehouse: LakehouseResource) -> Iterator[MaterializeResult]:
        """Kafka → bronze → silver readings and scores: what is waiting now, exactly once."""
        settings, spark = lakehouse.settings(), lakehouse.spark()
        lake = domain_lake(settings, DOMAIN)
        report = run_telemetry_stream(spark, lake, bootstrap_servers=settings.kafka_bootstrap_servers, topics=chosen)
        context.log.info(report.skipped or f"telemetry stream: {report.batches} micro-batches")
        for entity in chosen:
            yield MaterializeResult(
                asset_key=table_key(DOMAIN, "bronze", entity), metadata=table_metadata(lake.bronze(entity))
            )
            for target in FLOWS[entity].targets:
                metadata = {
                    **table_metadata(lake.silver(target.table)),
                    **stream_metadata(report.flows.get(entity, FlowReport()), target.table),
                }
                yield MaterializeResult(asset_key=table_key(DOMAIN, "silver", target.table), metadata=metadata)

    return _stream
