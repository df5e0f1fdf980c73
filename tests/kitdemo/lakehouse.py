"""Badges silver, declared with the kit: current badges from issued events, revocations applied after each batch."""

from __future__ import annotations

import great_expectations.expectations as gxe
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.core.contract import DomainContract
from kitdemo.contract import ISSUED, REVOKED
from pipelines.core.domain import DomainLakehouse
from pipelines.core.expectations import keyed
from pipelines.core.flow import SilverFlow, SilverTarget, silver_flows
from pipelines.core.merge import rows_changed
from pipelines.core.parse import ParsedBatch
from pipelines.core.tables import DomainLake


def badges(events: DataFrame) -> DataFrame:
    return events.select(
        "payload.badge_id",
        "payload.holder",
        "payload.issued_at",
        F.lit(None).cast("timestamp").alias("revoked_at"),
        "event_id",
        "occurred_at",
    )


def apply_revocations(spark: SparkSession, lake: DomainLake, parsed: ParsedBatch) -> dict[str, int]:
    # The kit's after-batch hook. Kept short for the test: a revocation reaching silver before its badge is not
    # replayed later (e-commerce's status changes show the complete pattern, `pipelines/ecommerce/orders.py`).
    if not parsed.valid.get(REVOKED):
        return {}
    revoked = parsed.events[REVOKED].groupBy("payload.badge_id").agg(F.min("payload.revoked_at").alias("revoked_at"))
    merge = (
        DeltaTable.forPath(spark, lake.silver("badges")).alias("t").merge(revoked.alias("s"), "t.badge_id = s.badge_id")
    )
    return {
        "badges": rows_changed(
            merge.whenMatchedUpdate("t.revoked_at IS NULL", {"revoked_at": "s.revoked_at"}).execute()
        )
    }


def badges_lakehouse(contract: DomainContract) -> DomainLakehouse:
    flow = SilverFlow(
        contract,
        "badges",
        (SilverTarget("badges", ISSUED, badges, ("badge_id",), "occurred_at"),),
        after_batch=(apply_revocations,),
    )
    return DomainLakehouse(
        contract=contract,
        flows=silver_flows(flow),
        expectations={"badges": lambda: [*keyed("badge_id"), gxe.ExpectColumnValuesToNotBeNull(column="holder")]},
    )
