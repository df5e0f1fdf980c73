"""A domain's lake layout from a run's settings, and metadata for tables that may not exist yet."""

from dagster import MetadataValue

from assets.core.metadata import delta_table_metadata
from pipelines.core.incremental import FlowReport
from pipelines.core.inventory import open_table


def table_metadata(path: str) -> dict[str, object]:
    # A topic that never had a record leaves no bronze table behind; that is an empty table, not a failure.
    table = open_table(path)
    if table is None:
        return {"row_count": MetadataValue.int(0), "path": MetadataValue.path(path)}
    return delta_table_metadata(table, path)


def flow_metadata(report: FlowReport, table: str) -> dict[str, object]:
    """What a silver run did to ``table``, and what its flow sent to quarantine (shared by the flow's tables)."""
    histogram = "\n".join(f"| {reason} | {count} |" for reason, count in report.reasons.most_common())
    return {
        "rows_merged_this_run": MetadataValue.int(report.merged[table]),
        "rows_quarantined_this_run": MetadataValue.int(report.quarantined),
        # A number: Dagster plots it across materialisations (the asset's Plots tab).
        "quarantine_rate_this_run": MetadataValue.float(round(report.quarantine_rate, 6)),
        "quarantine_reasons": MetadataValue.md(f"| reason | rows |\n|---|---|\n{histogram}" if histogram else "(none)"),
    }
