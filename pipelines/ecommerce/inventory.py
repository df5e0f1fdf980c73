"""What the e-commerce lake holds, layer by layer: the figures the main job prints at the end."""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pipelines.ecommerce.flows import FLOWS
from pipelines.ecommerce.gold import GOLD_TABLES
from pipelines.ecommerce.tables import ENTITIES, EcommerceLake


@dataclass(frozen=True)
class TableCount:
    layer: str
    table: str
    rows: int | None  # None: the table does not exist yet


def table_paths(lake: EcommerceLake) -> list[tuple[str, str, str]]:
    """(layer, table, path) for every e-commerce table, bronze to gold, then quarantine."""
    silver = sorted({target.table for flow in FLOWS.values() for target in flow.targets})
    return [
        *(("bronze", f"ecommerce_{entity}", lake.bronze(entity)) for entity in ENTITIES),
        *(("silver", f"ecommerce_{name}", lake.silver(name)) for name in silver),
        *(("gold", f"ecommerce_{name}", lake.gold(name)) for name in GOLD_TABLES),
        ("quarantine", "ecommerce_events", lake.quarantine()),
    ]


def count_tables(spark: SparkSession, lake: EcommerceLake) -> list[TableCount]:
    counts = []
    for layer, table, path in table_paths(lake):
        exists = DeltaTable.isDeltaTable(spark, path)
        counts.append(TableCount(layer, table, spark.read.format("delta").load(path).count() if exists else None))
    return counts


def quarantine_reasons(spark: SparkSession, lake: EcommerceLake) -> list[tuple[str, int]]:
    """Quarantined records per reason, most frequent first."""
    if not DeltaTable.isDeltaTable(spark, lake.quarantine()):
        return []
    grouped = (
        spark.read.format("delta").load(lake.quarantine()).groupBy("reason").count().orderBy("count", ascending=False)
    )
    return [(row["reason"], row["count"]) for row in grouped.collect()]
