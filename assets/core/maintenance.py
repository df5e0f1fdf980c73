"""Maintenance as Dagster assets, two per domain in the group ``maintenance``, run by their own job once a day, never
by the domain jobs or the main job: ``[domain, "maintenance", "tables"]`` compacts and vacuums the lake
(`pipelines/core/maintenance` says what it does; its metadata lists each table's files and bytes before and after)
and ``[domain, "maintenance", "outbox"]`` prunes the outbox rows the relay sent longer ago than the retention."""

from datetime import UTC, datetime, timedelta

import psycopg
from dagster import (
    AssetSelection,
    Definitions,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)

from assets.core.keys import table_key
from assets.resources import LakehouseResource
from ingest.core.outbox import prune_sent
from pipelines.core.domain import DomainLakehouse
from pipelines.core.maintenance import Upkeep, upkeep_domain
from pipelines.core.tables import domain_lake

GROUP = "maintenance"


def _summary(done: list[Upkeep]) -> str:
    lines = ["| table | files before | files after | MB before | MB after | Z-order | vacuumed | note |"]
    lines.append("| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |")
    for u in done:
        mb_before, mb_after = u.bytes_before / 1e6, u.bytes_after / 1e6
        lines.append(
            f"| {u.layer}/{u.table} | {u.files_before} | {u.files_after} | {mb_before:.2f} | {mb_after:.2f} "
            f"| {', '.join(u.zorder)} | {u.files_vacuumed} | {u.skipped} |"
        )
    return "\n".join(lines)


def maintenance_asset(domain: DomainLakehouse):  # noqa: ANN201 - Dagster's decorated asset
    @asset(
        key=table_key(domain.name, GROUP, "tables"),
        group_name=GROUP,
        kinds={"delta"},
        description=f"OPTIMIZE (Z-order where declared) and VACUUM of every {domain.name} table.",
    )
    def _maintain(lakehouse: LakehouseResource) -> MaterializeResult:
        settings = lakehouse.settings()
        done = upkeep_domain(domain, domain_lake(settings, domain.name), settings.lake_time_travel_hours)
        return MaterializeResult(
            metadata={
                "tables": len(done),
                "files_before": sum(u.files_before for u in done),
                "files_after": sum(u.files_after for u in done),
                "files_vacuumed": sum(u.files_vacuumed for u in done),
                "retention_hours": settings.lake_time_travel_hours,
                "skipped": [f"{u.layer}/{u.table}" for u in done if u.skipped],
                "per_table": MetadataValue.md(_summary(done)),
            }
        )

    return _maintain


def outbox_pruning_asset(domain: str):  # noqa: ANN201 - Dagster's decorated asset
    @asset(
        key=table_key(domain, GROUP, "outbox"),
        group_name=GROUP,
        kinds={"postgres"},
        description=f"Deletes {domain}.outbox rows sent longer ago than LAKEHOUSE_OUTBOX_RETENTION_HOURS.",
    )
    def _prune(lakehouse: LakehouseResource) -> MaterializeResult:
        settings = lakehouse.settings()
        sent_before = datetime.now(UTC) - timedelta(hours=settings.outbox_retention_hours)
        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            pruned = prune_sent(conn, domain, sent_before)
        return MaterializeResult(
            metadata={
                "rows_pruned": pruned,
                "sent_before": sent_before.isoformat(),
                "retention_hours": settings.outbox_retention_hours,
            }
        )

    return _prune


def maintenance_automation() -> Definitions:
    """The job over every domain's maintenance asset, daily at 03:00 UTC (a quiet hour: an OPTIMIZE that overlaps a
    flow's MERGE makes one of them retry, the flow on its next run)."""
    job = define_asset_job(
        "lakehouse_maintenance",
        selection=AssetSelection.groups(GROUP),
        description="OPTIMIZE and VACUUM every table; prune sent outbox rows.",
    )
    daily = ScheduleDefinition(
        name="lakehouse_maintenance_daily", job=job, cron_schedule="0 3 * * *", execution_timezone="UTC"
    )
    return Definitions(jobs=[job], schedules=[daily])
