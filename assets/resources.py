"""Dagster resources: typed clients configured from the one settings object, opened in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pyspark.sql import SparkSession
from redis import Redis

from lakehouse.settings import Settings, load_settings
from lakehouse.spark import spark_session


class LakehouseResource(ConfigurableResource):
    """Settings (resolved from LAKEHOUSE_* at run time) and the shared Spark session."""

    app_name: str = "lakehouse-dagster"

    def settings(self) -> Settings:
        return load_settings()

    def spark(self) -> SparkSession:
        return spark_session(self.settings(), app_name=self.app_name)


class RedisResource(ConfigurableResource):
    """The online feature store's client, opened per use and closed after it."""

    @contextmanager
    def client(self) -> Iterator[Redis]:
        client = Redis.from_url(load_settings().redis_url)
        try:
            yield client
        finally:
            client.close()
