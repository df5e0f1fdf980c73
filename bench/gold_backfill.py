"""Backfilling days of daily gold beside rebuilding it whole, in the same run on the same silver.

Silver e-commerce orders over 90 days (the lakehouse benchmark's synthetic events, through the real silver flows)
feed the two daily gold tables (sales by category and by merchant). Measured, in this order:

1. the full rebuild: both tables recomputed from all of silver and overwritten (what an unpartitioned run does);
2. a backfill of ``--days`` daily partitions through Dagster: one single-run backfill over the range (the run the
   UI's backfill dialog or ``lakehouse materialize --from --to`` starts), Delta ``replaceWhere`` on those days;
3. the same days with the kit's function alone (no Dagster), to show what Dagster's bookkeeping costs.

Each figure is days rebuilt per second (rows written are in the parameters): a backfill still reads all of silver,
whose files are not laid out by day, so its cost is not proportional to the days it rebuilds.
Run: ``.venv/bin/python -m bench.gold_backfill [--orders 200000 --days 30]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from dagster import DagsterInstance, materialize

from assets.core.gold import gold_asset
from assets.materialize import range_tags
from assets.resources import LakehouseResource
from bench.lakehouse_throughput import ENTITIES, write_bronze
from bench.report import Measurement, Report, Stopwatch, load_average
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from pipelines.core.domain import days_in, refresh_gold, refresh_gold_days
from pipelines.core.incremental import run_silver_flow
from pipelines.core.tables import domain_lake
from pipelines.ecommerce.flows import FLOWS
from pipelines.ecommerce.gold import GOLD_TABLES

DAILY = {name: table for name, table in GOLD_TABLES.items() if table.day_column}
FIRST = date(2025, 2, 1)  # inside the synthetic events' 90 days from 2025-01-01


def gold_rows(spark, lake) -> int:  # noqa: ANN001 - SparkSession, DomainLake
    return sum(spark.read.format("delta").load(lake.gold(name)).count() for name in DAILY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="order events in bronze")
    parser.add_argument("--days", type=int, default=30, help="daily partitions to backfill")
    args = parser.parse_args()
    last = FIRST + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as scratch:
        settings = Settings(lake_root=str(Path(scratch) / "lake"))
        lake = domain_lake(settings, "ecommerce")
        spark = spark_session(settings, app_name="bench-gold-backfill")
        print(f"bronze and silver for {args.orders:,} orders (setup, not measured)", flush=True)
        write_bronze(spark, lake, args.orders, 4)
        for entity in ENTITIES:
            run_silver_flow(spark, FLOWS[entity], lake)
        for name, table in DAILY.items():  # warm-up: JVM, code generation, the Delta log cache
            refresh_gold(spark, lake, name, table)
            refresh_gold_days(spark, lake, name, table, FIRST, FIRST + timedelta(days=1))
        load_before = load_average()

        for name in DAILY:
            shutil.rmtree(lake.gold(name))
        with Stopwatch() as full_time:
            for name, table in DAILY.items():
                refresh_gold(spark, lake, name, table)
        full_rows = gold_rows(spark, lake)
        all_days = len(days_in(spark, lake.gold(next(iter(DAILY))), next(iter(DAILY.values())).day_column))

        resources = {"lakehouse": LakehouseResource.from_settings(settings)}
        assets = [gold_asset("ecommerce", name, table, name) for name, table in DAILY.items()]
        with Stopwatch() as dagster_time:
            result = materialize(
                assets, resources=resources, instance=DagsterInstance.ephemeral(), tags=range_tags(FIRST, last)
            )
        if not result.success:
            raise RuntimeError("the Dagster backfill failed")
        # One event per day and table, each with its table's run metadata: the rows written once per table.
        written = {
            event.asset_key: event.materialization.metadata["rows_written"].value
            for event in result.get_asset_materialization_events()
        }
        partitions = len(result.get_asset_materialization_events())
        after_dagster = gold_rows(spark, lake)

        with Stopwatch() as kit_time:
            kit_rows = sum(
                refresh_gold_days(spark, lake, name, table, FIRST, last + timedelta(days=1))
                for name, table in DAILY.items()
            )
        load_after = load_average()
        spark.stop()
    if after_dagster != full_rows:
        raise RuntimeError(f"the backfill changed the tables' rows: {full_rows} → {after_dagster}")
    backfilled = sum(written.values())
    if backfilled != kit_rows:
        raise RuntimeError(f"Dagster's backfill wrote {backfilled} rows, the kit's {kit_rows}")
    report = Report(
        "gold_backfill",
        {
            "orders": args.orders,
            "tables": sorted(DAILY),
            "days": args.days,
            "range": f"{FIRST}...{last}",
            "gold_rows_all_days": full_rows,
            "days_in_gold": all_days,
            "gold_rows_backfilled": backfilled,
            "partitions_materialised": partitions,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
    )
    tables = f"{len(DAILY)} daily gold tables"
    report.add(Measurement(f"full rebuild of {tables}, all {all_days} days", all_days, full_time.seconds, "days", True))
    report.add(Measurement(f"backfill of {args.days} days, one Dagster run", args.days, dagster_time.seconds, "days"))
    report.add(Measurement(f"the same {args.days} days, the kit's function alone", args.days, kit_time.seconds, "days"))
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
