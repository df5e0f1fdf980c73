"""What a domain's lake holds, layer by layer: the figures the main job prints at the end.

Read with delta-rs, not Spark: a count is in each Parquet file's footer, and the tables are written for readers of
protocol 1, so delta-rs sees exactly the rows Spark does (`tests/integration/test_lake_inventory.py` compares them).
Counting some eighty tables this way takes about a second; through Spark it took the main job close to a minute of
query planning, plus a JVM to start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow.dataset as ds
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


def arrow_dataset(table: DeltaTable) -> ds.Dataset:
    """The table's snapshot as an Arrow dataset, legacy INT96 timestamps read as microseconds.

    Files written before the Spark factory chose TIMESTAMP_MICROS hold INT96, which Arrow reads as nanoseconds by
    default: a valid year-1 or year-9999 timestamp then overflows and the read fails.
    """
    return table.to_pyarrow_dataset(parquet_read_options=ds.ParquetReadOptions(coerce_int96_timestamp_unit="us"))


def row_count(table: DeltaTable) -> int:
    return arrow_dataset(table).count_rows()


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
    reasons = arrow_dataset(table).to_table(columns=["reason"]).column("reason").to_pylist()
    return Counter(reasons).most_common()
