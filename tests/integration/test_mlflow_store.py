"""The project's MLflow tracking and registry store (SQLite + local artifacts) under the data folder."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient

from lakehouse.mlflow_store import configure_mlflow, ensure_experiment
from lakehouse.settings import Settings

pytestmark = pytest.mark.integration


def test_runs_and_registered_models_round_trip(tmp_path, unique_name):
    settings = Settings(home=tmp_path)
    assert configure_mlflow(settings) == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    experiment_id = ensure_experiment(settings, unique_name)
    assert ensure_experiment(settings, unique_name) == experiment_id

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("pr_auc", 0.81)
        mlflow.log_text("hello", "notes/hello.txt")

    client = MlflowClient()
    stored = client.get_run(run.info.run_id)
    assert stored.data.params == {"alpha": "0.5"} and stored.data.metrics == {"pr_auc": 0.81}
    assert stored.info.artifact_uri.startswith((tmp_path / "mlflow" / "artifacts").as_uri())
    assert (tmp_path / "mlflow" / "mlflow.db").exists()

    client.create_registered_model(unique_name)
    version = client.create_model_version(unique_name, f"runs:/{run.info.run_id}/notes", run.info.run_id)
    client.set_registered_model_alias(unique_name, "champion", version.version)
    assert client.get_model_version_by_alias(unique_name, "champion").version == version.version
