"""What a domain's lake holds, layer by layer: the figures the main job prints at the end.

Read with delta-rs, not Spark: a count is in each Parquet file's footer, and the tables are written for readers of
protocol 1, so delta-rs sees exactly the rows Spark does (`tests/integration/test_lake_inventory.py` compares them).
Counting some eighty tables this way takes about a second; through Spark it took the main job close to a minute of
query planning, plus a JVM to start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

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


def open_table(path: str) -> DeltaTable | None:
    try:
        return DeltaTable(path)
    except TableNotFoundError:
        return None


def row_count(table: DeltaTable) -> int:
    return table.to_pyarrow_dataset().count_rows()


def count_tables(domain: DomainLakehouse, lake: DomainLake) -> list[TableCount]:
    counts = []
    for layer, name, path in table_paths(domain, lake):
        table = open_table(path)
        counts.append(TableCount(layer, name, None if table is None else row_count(table)))
    return counts


def quarantine_reasons(lake: DomainLake) -> list[tuple[str, int]]:
    """Quarantined records per reason, most frequent first."""
    table = open_table(lake.quarantine())
    if table is None:
        return []
    reasons = table.to_pyarrow_dataset().to_table(columns=["reason"]).column("reason").to_pylist()
    return Counter(reasons).most_common()
