"""The anomaly asset group through Dagster on a throwaway MLflow store: the training fleet shows its devices,
readings and faults per kind; the detector registers a champion and links its run."""

from __future__ import annotations

import pytest
from dagster import materialize
from mlflow import MlflowClient

from assets.anomaly import anomaly_detector, anomaly_training_fleet
from assets.resources import resources_for
from ingest.iot.simulator import FAULT_KINDS
from lakehouse.settings import Settings
from models.anomaly import ANOMALY_MODEL_NAME

pytestmark = pytest.mark.integration


def test_the_anomaly_group_materialises_and_registers_a_champion(tmp_path) -> None:
    settings = Settings(home=tmp_path, mlflow_ui_url="http://mlflow.example:5000")
    config = {"config": {"cadences": [300], "devices": 3, "readings_per_device": 1000}}
    result = materialize(
        [anomaly_training_fleet, anomaly_detector],
        resources=resources_for(settings),
        run_config={"ops": {anomaly_training_fleet.op.name: config, anomaly_detector.op.name: config}},
    )

    assert result.success
    fleet = result.asset_materializations_for_node(anomaly_training_fleet.op.name)[0].metadata
    assert fleet["devices"].value == 3 and fleet["readings"].value == 3 * 4 * 288  # 4 whole days of 5-minute readings
    assert set(fleet["faults_per_kind"].value) == set(FAULT_KINDS)

    model = result.asset_materializations_for_node(anomaly_detector.op.name)[0].metadata
    assert model["model"].value == f"{ANOMALY_MODEL_NAME} v1" and model["promoted"].value is True
    assert model["version"].value == "1" and "threshold_300s" in model["fitted_settings"].value
    assert model["false_alerts_per_device_day"].value >= 0 and "nab_standard" in model
    run_id = model["mlflow_run_id"].value
    assert model["mlflow_ui"].value == f"http://mlflow.example:5000/#/experiments/runs/{run_id}"
    alias = MlflowClient().get_model_version_by_alias(ANOMALY_MODEL_NAME, "champion")
    assert str(alias.version) == "1" and alias.run_id == run_id
