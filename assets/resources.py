"""Dagster resources: typed clients configured from the one settings object, opened in one place."""

from __future__ import annotations

from dagster import ConfigurableResource
from pyspark.sql import SparkSession

from lakehouse.settings import Settings, load_settings
from lakehouse.spark import spark_session


class LakehouseResource(ConfigurableResource):
    """Settings (resolved from LAKEHOUSE_* at run time) and the shared Spark session."""

    app_name: str = "lakehouse-dagster"

    def settings(self) -> Settings:
        return load_settings()

    def spark(self) -> SparkSession:
        return spark_session(self.settings(), app_name=self.app_name)
