"""Commands that start the Dagster instance and the MLflow UI, both kept under the data folder (SQLite by default)."""

from __future__ import annotations

import sys
from pathlib import Path

from lakehouse.settings import PROJECT_ROOT, Settings


def dagster_environment(settings: Settings) -> dict[str, str]:
    """Variables that point `dagster` at this project's dagster.yaml and storage folders."""
    storage = settings.home_dir / "dagster"
    for folder in (storage / "storage", storage / "artifacts", storage / "compute_logs"):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        # The subprocess must see the same lake and data folder as the caller, whatever set them.
        "LAKEHOUSE_HOME": str(settings.home_dir),
        "LAKEHOUSE_LAKE_ROOT": settings.lake_uri,
        "DAGSTER_HOME": str(PROJECT_ROOT),
        "LAKEHOUSE_DAGSTER_STORAGE": str(storage / "storage"),
        "LAKEHOUSE_DAGSTER_ARTIFACTS": str(storage / "artifacts"),
        "LAKEHOUSE_DAGSTER_COMPUTE_LOGS": str(storage / "compute_logs"),
    }


def dagster_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dagster")), *args, "-m", "assets.definitions"]


def dagster_ui_command(host: str = "127.0.0.1", port: int = 3000) -> list[str]:
    return [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-m",
        "assets.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]


def mlflow_ui_command(settings: Settings, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    settings.mlflow_artifacts_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        settings.mlflow_uri,
        "--default-artifact-root",
        settings.mlflow_artifacts_dir.as_uri(),
        "--host",
        host,
        "--port",
        str(port),
    ]
