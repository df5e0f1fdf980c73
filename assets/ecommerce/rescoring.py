"""Orders whose fraud check never finished, scored by a Dagster job every five minutes (`ingest/ecommerce/rescoring.py`
says how). A job, not an asset: it changes orders in PostgreSQL and writes no table of the lake."""

from dagster import Definitions, OpExecutionContext, Output, ScheduleDefinition, job, op

from assets.resources import LakehouseResource
from ingest.ecommerce.context import open_context
from ingest.ecommerce.rescoring import rescore_owed


@op(description="Score the orders owed a fraud check for over a minute; bounded retries, then an unscored hold.")
def rescore_owed_fraud_checks(context: OpExecutionContext, lakehouse: LakehouseResource) -> Output[int]:
    with open_context(lakehouse.settings(), actor="dagster:fraud-rescoring", fraud_scoring=True) as ctx:
        report = rescore_owed(ctx)
    context.log.info(f"{report.owed} orders owed a fraud check: {dict(report.outcomes)}")
    metadata = {"owed": report.owed, "held": report.held, **{f"outcome_{k}": v for k, v in report.outcomes.items()}}
    return Output(report.owed, metadata=metadata)


@job(description="E-commerce: fraud checks the app never finished (it died between commit and verdict).")
def ecommerce_fraud_rescoring() -> None:
    rescore_owed_fraud_checks()


every_5_minutes = ScheduleDefinition(
    name="ecommerce_fraud_rescoring_every_5_minutes",
    job=ecommerce_fraud_rescoring,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
)

defs = Definitions(jobs=[ecommerce_fraud_rescoring], schedules=[every_5_minutes])
