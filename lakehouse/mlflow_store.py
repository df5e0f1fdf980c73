"""The project's MLflow store (tracking and registry), kept under the data folder (SQLite by default).

Ground floor: every layer that logs, registers or loads a model points its client here, so they all see one store.
"""

from __future__ import annotations

import os

from lakehouse.settings import Settings


def configure_mlflow(settings: Settings) -> str:
    """Point this process's MLflow client (tracking and registry) at the project's store; returns the URI."""
    import mlflow  # imported here: most commands never touch MLflow and it is slow to import

    (settings.home_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_TRACKING_URI", settings.mlflow_uri)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    mlflow.set_registry_uri(settings.mlflow_uri)
    return settings.mlflow_uri


def ensure_experiment(settings: Settings, name: str) -> str:
    """The experiment's id, creating it with its artifacts under the data folder."""
    import mlflow

    configure_mlflow(settings)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = (settings.mlflow_artifacts_dir / name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)
