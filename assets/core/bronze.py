"""Bronze for any domain: each Kafka topic of its contract lands raw in its own Delta table, exactly once."""

from collections.abc import Mapping

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.core.executor import lane
from assets.core.keys import table_key
from assets.core.lake import table_metadata
from assets.core.partitions import SINGLE_RUN
from assets.resources import LakehouseResource
from pipelines.core.bronze import stream_topic_to_delta
from pipelines.core.domain import DomainLakehouse
from pipelines.core.tables import domain_lake


def bronze_asset(domain: str, entity: str, topic: str) -> AssetsDefinition:
    @asset(
        key=table_key(domain, "bronze", entity),
        group_name=domain,
        kinds={"spark", "delta", "kafka"},
        description=f"Every record published to {topic}, raw and exactly once, with its Kafka position: "
        f"the replayable record of what the {domain} app said happened.",
        op_tags=lane(f"{domain}-bronze-{entity}"),  # writes its table only
        backfill_policy=SINGLE_RUN,  # so a selection with daily gold takes a day range (assets/core/partitions)
    )
    def _bronze(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        settings, spark = lakehouse.settings(), lakehouse.spark()
        lake = domain_lake(settings, domain)
        stream_topic_to_delta(
            spark,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=topic,
            table_path=lake.bronze(entity),
            checkpoint_path=lake.bronze_checkpoint(entity),
        )
        context.log.info(f"{topic} → {lake.bronze(entity)}")
        return MaterializeResult(metadata=table_metadata(lake.bronze(entity)))

    return _bronze


def bronze_assets(domain: DomainLakehouse, topics: Mapping[str, str] | None = None) -> list[AssetsDefinition]:
    """One bronze asset per entity of the contract; tests pass their own topic names to stay off the shared ones."""
    topics = domain.contract.entities if topics is None else topics
    return [bronze_asset(domain.name, entity, topic) for entity, topic in topics.items()]
