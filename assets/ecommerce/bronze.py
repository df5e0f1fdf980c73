"""E-commerce bronze: each Kafka topic of the e-commerce contract lands raw in its own Delta table."""

from collections.abc import Mapping

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.ecommerce.lake import ecommerce_lake, table_metadata
from assets.resources import LakehouseResource
from pipelines.bronze import stream_topic_to_delta
from pipelines.ecommerce.flows import ENTITY_TOPICS


def bronze_asset(entity: str, topic: str) -> AssetsDefinition:
    @asset(
        name=f"ecommerce_{entity}_bronze",
        group_name="bronze",
        kinds={"spark", "delta", "kafka"},
        description=f"Every record published to {topic}, raw and exactly once, with its Kafka position: "
        "the replayable record of what the e-commerce app said happened.",
    )
    def _bronze(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        settings, spark = lakehouse.settings(), lakehouse.spark()
        lake = ecommerce_lake(settings)
        stream_topic_to_delta(
            spark,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=topic,
            table_path=lake.bronze(entity),
            checkpoint_path=lake.checkpoint("bronze", f"ecommerce_{entity}"),
        )
        context.log.info(f"{topic} → {lake.bronze(entity)}")
        return MaterializeResult(metadata=table_metadata(spark, lake.bronze(entity)))

    return _bronze


def ecommerce_bronze_assets(topics: Mapping[str, str] = ENTITY_TOPICS) -> list[AssetsDefinition]:
    """One bronze asset per entity; tests pass their own topic names to stay off the shared topics."""
    return [bronze_asset(entity, topic) for entity, topic in topics.items()]
