"""Links from Dagster metadata into the MLflow UI, so a model asset's run opens in one click."""

from __future__ import annotations

from lakehouse.settings import Settings


def run_url(settings: Settings, run_id: str) -> str:
    """The run's page in the MLflow UI that ``settings`` names."""
    return f"{settings.mlflow_ui_url.rstrip('/')}/#/experiments/runs/{run_id}"
