"""Fraud: features (training set, online store) and the classifier, one asset group with its own job.

Resources and the executor are declared once, in ``assets.definitions``."""

from dagster import AssetSelection, Definitions, RunRequest, define_asset_job, schedule

from assets.fraud.features import MODEL, fraud_online_features, fraud_training_set
from assets.fraud.model import fraud_classifier

fraud_job = define_asset_job(
    "fraud_training",
    selection=AssetSelection.groups(MODEL),
    description="Fraud training set → classifier (MLflow, champion gate) and the online features in Redis.",
)


@schedule(job=fraud_job, cron_schedule="0 2 * * *", execution_timezone="UTC")
def fraud_daily() -> RunRequest:
    """Retrain nightly, once the day's chargebacks are in silver; the champion moves only for a better model."""
    return RunRequest()


defs = Definitions(
    assets=[fraud_training_set, fraud_classifier, fraud_online_features], jobs=[fraud_job], schedules=[fraud_daily]
)
