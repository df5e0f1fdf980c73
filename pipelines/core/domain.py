"""A domain's lakehouse, declared once: its contract (topics → bronze), silver flows, gold tables and silver
expectations. Dagster assets, the main job's inventory and tests are all built from this declaration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import great_expectations.expectations as gxe
from pyspark.sql import DataFrame, SparkSession

from ingest.core.contract import DomainContract
from pipelines.core.flow import SilverFlow
from pipelines.core.tables import DomainLake


@dataclass(frozen=True)
class GoldTable:
    """A gold table recomputed from silver on every run: ``build`` reads what it needs (the silver tables named in
    ``reads``) and returns the rows; they overwrite the table, partitioned by ``partition_by``."""

    build: Callable[[SparkSession, DomainLake], DataFrame]
    reads: tuple[str, ...]
    partition_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainLakehouse:
    contract: DomainContract
    flows: Mapping[str, SilverFlow]
    gold: Mapping[str, GoldTable] = field(default_factory=dict)
    # silver table → its expectations, built fresh per run (Great Expectations binds one to one suite).
    expectations: Mapping[str, Callable[[], list[gxe.Expectation]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.expectations) - set(self.silver_tables))
        if unknown:
            raise ValueError(f"{self.name}: expectations for unknown silver table(s) {unknown}")
        for name, table in self.gold.items():
            missing = sorted(set(table.reads) - set(self.silver_tables))
            if missing:
                raise ValueError(f"{self.name}: gold {name} reads unknown silver table(s) {missing}")

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def silver_tables(self) -> list[str]:
        return [target.table for flow in self.flows.values() for target in flow.targets]


def refresh_gold(spark: SparkSession, lake: DomainLake, name: str, table: GoldTable) -> str:
    """Recompute gold ``name`` from silver and overwrite it; returns its path."""
    path = lake.gold(name)
    writer = table.build(spark, lake).write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    writer.partitionBy(*table.partition_by).save(path)
    return path
