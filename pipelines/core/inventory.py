"""What a domain's lake holds, layer by layer: the figures the main job prints at the end."""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pipelines.core.domain import DomainLakehouse
from pipelines.core.tables import DomainLake


@dataclass(frozen=True)
class TableCount:
    layer: str
    table: str
    rows: int | None  # None: the table does not exist yet


def table_paths(domain: DomainLakehouse, lake: DomainLake) -> list[tuple[str, str, str]]:
    """(layer, table, path) for every table of the domain, bronze to gold, then quarantine."""
    return [
        *(("bronze", lake.name(entity), lake.bronze(entity)) for entity in domain.contract.entities),
        *(("silver", lake.name(name), lake.silver(name)) for name in sorted(set(domain.silver_tables))),
        *(("gold", lake.name(name), lake.gold(name)) for name in domain.gold),
        ("quarantine", lake.name("events"), lake.quarantine()),
    ]


def count_tables(spark: SparkSession, domain: DomainLakehouse, lake: DomainLake) -> list[TableCount]:
    counts = []
    for layer, table, path in table_paths(domain, lake):
        exists = DeltaTable.isDeltaTable(spark, path)
        counts.append(TableCount(layer, table, spark.read.format("delta").load(path).count() if exists else None))
    return counts


def quarantine_reasons(spark: SparkSession, lake: DomainLake) -> list[tuple[str, int]]:
    """Quarantined records per reason, most frequent first."""
    if not DeltaTable.isDeltaTable(spark, lake.quarantine()):
        return []
    grouped = (
        spark.read.format("delta").load(lake.quarantine()).groupBy("reason").count().orderBy("count", ascending=False)
    )
    return [(row["reason"], row["count"]) for row in grouped.collect()]
