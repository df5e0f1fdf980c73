"""A silver check reports its own earlier pass for the same Delta table, version and suite instead of validating
again; another table at that version, a new version, another suite or an earlier failure are validated. Real Spark,
Delta and a Dagster instance."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, asset, materialize

from assets.core.checks import silver_expectations_check
from assets.core.keys import table_key
from assets.resources import LakehouseResource
from lakehouse import lake
from lakehouse.settings import Settings
from pipelines.core.expectations import gxe

pytestmark = pytest.mark.slow

DOMAIN, TABLE = "checked", "things"


def suite() -> list:
    return [gxe.ExpectColumnValuesToNotBeNull(column="thing_id")]


def stricter_suite() -> list:
    return [*suite(), gxe.ExpectColumnValuesToBeUnique(column="thing_id")]


def run(instance: DagsterInstance, settings: Settings, rows: list[str | None], check) -> dict:  # noqa: ANN001
    """Append ``rows`` (no commit when empty) to the silver table, then run ``check``; its evaluation."""

    @asset(key=table_key(DOMAIN, "silver", TABLE))
    def things(lakehouse: LakehouseResource) -> None:
        spark = lakehouse.spark()
        if rows:
            frame = spark.createDataFrame([(row,) for row in rows], "thing_id string")
            frame.write.format("delta").mode("append").save(lake.table_path(settings, "silver", f"{DOMAIN}_{TABLE}"))

    result = materialize(
        [things, check],
        instance=instance,
        resources={"lakehouse": LakehouseResource.from_settings(settings)},
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    return {
        "run_id": result.run_id,
        "passed": evaluation.passed,
        **{k: v.value for k, v in evaluation.metadata.items()},
    }


def test_a_pass_is_reused_only_for_the_same_version_and_suite(spark, tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    check = silver_expectations_check(DOMAIN, TABLE, suite)
    with DagsterInstance.ephemeral() as instance:
        first = run(instance, settings, ["a", "b"], check)
        assert first["passed"] and first["expectations_evaluated"] == 1 and "passed_in_run" not in first

        again = run(instance, settings, [], check)
        assert again["passed"] and again["passed_in_run"] == first["run_id"]
        assert again["table_version"] == first["table_version"] and "expectations_evaluated" not in again
        # Reported again from the reused evaluation: still the run that validated.
        assert run(instance, settings, [], check)["passed_in_run"] == first["run_id"]

        # Another lake's table of the same name, at the same version: another table, validated.
        elsewhere = run(instance, Settings(lake_root=str(tmp_path / "other")), ["a", "b"], check)
        assert elsewhere["table_version"] == first["table_version"] and elsewhere["table_id"] != first["table_id"]
        assert elsewhere["expectations_evaluated"] == 1

        stricter = run(instance, settings, [], silver_expectations_check(DOMAIN, TABLE, stricter_suite))
        assert stricter["expectations_evaluated"] == 2 and stricter["suite"] != first["suite"]

        newer = run(instance, settings, ["c"], check)
        assert newer["table_version"] == first["table_version"] + 1 and newer["expectations_evaluated"] == 1

        failed = run(instance, settings, [None], check)
        assert not failed["passed"] and failed["unexpected_rows"] == 1
        # The latest pass is of an older version: the failing version is validated again, and fails again.
        retried = run(instance, settings, [], check)
        assert not retried["passed"] and retried["expectations_evaluated"] == 1
