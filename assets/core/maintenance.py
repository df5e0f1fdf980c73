"""Table maintenance as Dagster assets: one per domain (``[domain, "maintenance", "tables"]``) in the group
``maintenance``, run by its own job once a day, never by the domain jobs or the main job (`pipelines/core/maintenance`
says what it does). Its metadata lists each table's files and bytes before and after."""

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


def maintenance_automation() -> Definitions:
    """The job over every domain's maintenance asset, daily at 03:00 UTC (a quiet hour: an OPTIMIZE that overlaps a
    flow's MERGE makes one of them retry, the flow on its next run)."""
    job = define_asset_job(
        "lakehouse_maintenance", selection=AssetSelection.groups(GROUP), description="OPTIMIZE and VACUUM every table."
    )
    daily = ScheduleDefinition(
        name="lakehouse_maintenance_daily", job=job, cron_schedule="0 3 * * *", execution_timezone="UTC"
    )
    return Definitions(jobs=[job], schedules=[daily])
