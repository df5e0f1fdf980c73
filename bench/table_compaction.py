"""What maintenance buys a reader: a typical query on a table written by many small streaming batches, before and
after OPTIMIZE with Z-order, both measured in the same run on copies of the same table.

The table is orders-shaped (one row per order: customer, terminal, amount, time) and is written by ``--batches``
appends of ``--rows`` rows each, as the silver flows write a micro-batch. The query is what the fraud features and
the customer pages ask: one customer's orders over a month (count and total), run ``--repeats`` times in Spark;
the median is reported. Run: ``.venv/bin/python -m bench.table_compaction [--batches 400 --rows 500]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from bench.report import Measurement, Report, Stopwatch, load_average
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from pipelines.core.maintenance import live_files, upkeep_table

CUSTOMERS = 2000
START = datetime(2026, 1, 1, tzinfo=UTC)


def write_small_batches(path: Path, batches: int, rows: int, seed: int) -> int:
    generator = random.Random(seed)
    for batch in range(batches):
        at = START + timedelta(days=365 * batch / batches)
        customers = [f"c{generator.randrange(CUSTOMERS)}" for _ in range(rows)]
        table = pa.table(
            {
                "order_id": [f"o{batch}-{n}" for n in range(rows)],
                "customer_id": customers,
                "terminal_id": [f"t{generator.randrange(500)}" for _ in range(rows)],
                "amount": [round(generator.uniform(1, 500), 2) for _ in range(rows)],
                "placed_at": pa.array([at + timedelta(seconds=n) for n in range(rows)], pa.timestamp("us", "UTC")),
            }
        )
        write_deltalake(str(path), table, mode="append")
    return batches * rows


def median_query_s(spark, path: Path, customer: str, repeats: int) -> tuple[float, int]:  # noqa: ANN001 - SparkSession
    """Median seconds of one customer's orders in June (count and total), and the count it found."""
    timings, found = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        row = (
            spark.read.format("delta")
            .load(str(path))
            .filter(f"customer_id = '{customer}' AND placed_at >= '2026-06-01' AND placed_at < '2026-07-01'")
            .selectExpr("count(*) AS orders", "sum(amount) AS total")
            .first()
        )
        timings.append(time.perf_counter() - started)
        found = row["orders"]
    return statistics.median(timings), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--rows", type=int, default=500, help="rows per batch")
    parser.add_argument("--repeats", type=int, default=7, help="runs of the query per table (median reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as scratch:
        uncompacted, compacted = Path(scratch) / "uncompacted", Path(scratch) / "compacted"
        print(f"writing {args.batches} batches of {args.rows} rows", flush=True)
        rows = write_small_batches(uncompacted, args.batches, args.rows, args.seed)
        shutil.copytree(uncompacted, compacted)
        with Stopwatch() as upkeep_time:
            upkeep = upkeep_table(DeltaTable(str(compacted)), "silver", "orders", ("customer_id", "placed_at"), 168)
        spark = spark_session(Settings(lake_root=scratch), app_name="bench-table-compaction")
        median_query_s(spark, uncompacted, "c1", 2)  # warm-up: JVM, code generation, the Delta log cache
        median_query_s(spark, compacted, "c1", 2)
        load_before = load_average()
        before_s, before_found = median_query_s(spark, uncompacted, "c42", args.repeats)
        after_s, after_found = median_query_s(spark, compacted, "c42", args.repeats)
        load_after = load_average()
        spark.stop()
        assert before_found == after_found, (before_found, after_found)  # the same answer from both layouts
        files_after = live_files(DeltaTable(str(compacted)))[0]
    report = Report(
        "table_compaction",
        {
            "rows": rows,
            "batches": args.batches,
            "files_before": upkeep.files_before,
            "files_after": files_after,
            "mb_before": round(upkeep.bytes_before / 1e6, 2),
            "mb_after": round(upkeep.bytes_after / 1e6, 2),
            "optimize_zorder_s": round(upkeep_time.seconds, 2),
            "orders_found": before_found,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
    )
    query = "one customer's June orders (count, total) in Spark, median of"
    report.add(Measurement(f"{query} {args.repeats}: {upkeep.files_before} small files", 1, before_s, "queries", True))
    report.add(
        Measurement(f"{query} {args.repeats}: after OPTIMIZE + Z-order, {files_after} files", 1, after_s, "queries")
    )
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
