"""Great Expectations on every silver table, as blocking asset checks: gold is not rebuilt from bad silver."""

from dagster import AssetCheckResult, AssetChecksDefinition, MetadataValue, asset_check

from assets.ecommerce.lake import ecommerce_lake
from assets.ecommerce.silver import SILVER_TABLES, silver_key
from assets.resources import LakehouseResource
from pipelines.ecommerce.expectations import validate_silver


def silver_expectations_check(table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=silver_key(table),
        name="silver_expectations",
        blocking=True,
        description=f"Great Expectations suite for silver {table}: keys present and unique, amounts in range.",
    )
    def _check(lakehouse: LakehouseResource) -> AssetCheckResult:
        spark, lake = lakehouse.spark(), ecommerce_lake(lakehouse.settings())
        outcome = validate_silver(spark.read.format("delta").load(lake.silver(table)), table)
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


SILVER_CHECKS = [silver_expectations_check(table) for table in SILVER_TABLES]
