"""The anomaly model's Dagster group: keys read [anomaly, layer, name], the detector reads the training fleet, its
job runs exactly its own group, the fleet config maps onto the training config, and the MLflow link follows the
settings."""

from __future__ import annotations

from dagster import AssetKey, Definitions

from assets.anomaly import anomaly_job, defs
from assets.anomaly.model import AnomalyTrainingConfig, run_url
from assets.resources import resources_for
from lakehouse.settings import Settings
from models.anomaly.training import TrainingConfig

FLEET = AssetKey(["anomaly", "features", "training_fleet"])
DETECTOR = AssetKey(["anomaly", "models", "detector"])


def test_anomaly_assets_form_one_group_and_the_job_runs_it() -> None:
    assets = list(defs.assets)
    assert {key for asset in assets for key in asset.keys} == {FLEET, DETECTOR}
    assert {group for asset in assets for group in asset.group_names_by_key.values()} == {"anomaly"}
    configured = Definitions.merge(defs, Definitions(resources=resources_for(Settings())))
    assert configured.resolve_asset_graph().get(DETECTOR).parent_keys == {FLEET}
    job = configured.resolve_job_def(anomaly_job.name)
    assert job.name == "anomaly_training"
    assert set(job.asset_layer.executable_asset_keys) == {FLEET, DETECTOR}


def test_the_run_config_is_the_training_config_and_defaults_to_the_quick_one() -> None:
    assert AnomalyTrainingConfig().training() == TrainingConfig()
    bigger = AnomalyTrainingConfig(cadences=[60, 300, 3600], devices=20).training()
    assert (bigger.cadences, bigger.devices) == ((60, 300, 3600), 20)


def test_the_mlflow_link_follows_the_settings() -> None:
    settings = Settings(mlflow_ui_url="http://mlflow.example:5001/")
    assert run_url(settings, "abc") == "http://mlflow.example:5001/#/experiments/runs/abc"
