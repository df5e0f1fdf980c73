"""Great Expectations on a domain's silver tables, as blocking asset checks: gold is not rebuilt from bad silver."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from dagster import AssetCheckResult, AssetChecksDefinition, MetadataValue, asset_check

from assets.core.keys import table_key
from assets.resources import LakehouseResource
from pipelines.core.domain import DomainLakehouse
from pipelines.core.expectations import validate_silver
from pipelines.core.tables import domain_lake

if TYPE_CHECKING:  # Great Expectations is imported when a check runs, not when the code location loads
    import great_expectations.expectations as gxe


def silver_expectations_check(
    domain: str, table: str, expectations: "Callable[[], list[gxe.Expectation]]"
) -> AssetChecksDefinition:
    @asset_check(
        asset=table_key(domain, "silver", table),
        name="silver_expectations",
        blocking=True,
        description=f"Great Expectations suite for silver {table}: keys present and unique, values in range.",
    )
    def _check(lakehouse: LakehouseResource) -> AssetCheckResult:
        spark, lake = lakehouse.spark(), domain_lake(lakehouse.settings(), domain)
        outcome = validate_silver(spark.read.format("delta").load(lake.silver(table)), table, expectations)
        return AssetCheckResult(
            passed=outcome.success,
            metadata={
                "expectations_evaluated": MetadataValue.int(outcome.evaluated),
                "expectations_failed": MetadataValue.int(len(outcome.failed)),
                "unexpected_rows": MetadataValue.int(sum(f["unexpected_count"] or 0 for f in outcome.failed)),
                "failed_expectations": MetadataValue.json(outcome.failed),
            },
        )

    return _check


def silver_checks(domain: DomainLakehouse) -> list[AssetChecksDefinition]:
    return [silver_expectations_check(domain.name, table, suite) for table, suite in domain.expectations.items()]
