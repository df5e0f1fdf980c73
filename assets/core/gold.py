"""Gold for any domain: each declared gold table recomputed from silver; a daily table also by day (a Dagster
partition per day, backfilled from the UI or `lakehouse materialize --from --to`)."""

from collections.abc import Mapping
from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.core.executor import lane
from assets.core.keys import table_key
from assets.core.lake import table_metadata
from assets.core.partitions import DAILY, SINGLE_RUN, partition_days, partitioned_run, requested_days
from assets.resources import LakehouseResource
from pipelines.core.domain import DomainLakehouse, GoldTable, days_in, refresh_gold, refresh_gold_days
from pipelines.core.tables import domain_lake

# What people read: the domain's schedule rebuilds it every 15 minutes, so an hour without a build is worth a look
# and a day is a failure (shown on the asset in the UI; dagster.yaml turns the evaluation on).
FRESH = FreshnessPolicy.time_window(fail_window=timedelta(days=1), warn_window=timedelta(hours=1))


def gold_asset(domain: str, name: str, table: GoldTable, description: str) -> AssetsDefinition:
    @asset(
        key=table_key(domain, "gold", name),
        group_name=domain,
        kinds={"spark", "delta"},
        deps=[table_key(domain, "silver", silver) for silver in table.reads],
        description=description,
        partitions_def=DAILY if table.day_column else None,
        backfill_policy=SINGLE_RUN,
        freshness_policy=FRESH,
        op_tags=lane(f"{domain}-gold-{name}"),  # writes its table only
    )
    def _gold(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        spark, lake = lakehouse.spark(), domain_lake(lakehouse.settings(), domain)
        days = requested_days(context) if table.day_column else None
        if days is None:
            path = refresh_gold(spark, lake, name, table)
            context.log.info(f"recomputed {path}")
            if table.day_column and not partitioned_run(context):
                # A whole rebuild wrote every day: say so per partition, or the UI shows every day as missing.
                for day in partition_days(days_in(spark, path, table.day_column)):
                    context.log_event(AssetMaterialization(asset_key=context.asset_key, partition=day))
            return MaterializeResult(metadata=table_metadata(path))
        rows = refresh_gold_days(spark, lake, name, table, *days)
        context.log.info(f"rebuilt {name} for {days[0]} ≤ {table.day_column} < {days[1]}: {rows} rows")
        metadata = {
            "days_rebuilt": MetadataValue.text(f"{days[0]} … {days[1]} (end excluded)"),
            "rows_written": MetadataValue.int(rows),
        }
        return MaterializeResult(metadata={**table_metadata(lake.gold(name)), **metadata})

    return _gold


def gold_assets(domain: DomainLakehouse, descriptions: Mapping[str, str]) -> list[AssetsDefinition]:
    missing = sorted(set(domain.gold) - set(descriptions))
    if missing:
        raise ValueError(f"{domain.name}: describe gold table(s) {missing}")
    return [gold_asset(domain.name, name, table, descriptions[name]) for name, table in domain.gold.items()]
