"""The IoT anomaly model: the simulated training fleet and the detector fitted on it, one asset group with its job.

Resources and the executor are declared once, in ``assets.definitions``."""

from dagster import AssetSelection, Definitions, define_asset_job

from assets.anomaly.model import MODEL, anomaly_detector, anomaly_training_fleet

anomaly_job = define_asset_job(
    "anomaly_training",
    selection=AssetSelection.groups(MODEL),
    description="Simulated labelled fleet → anomaly detector's alert settings (MLflow, champion gate on NAB score).",
)

defs = Definitions(assets=[anomaly_training_fleet, anomaly_detector], jobs=[anomaly_job])
