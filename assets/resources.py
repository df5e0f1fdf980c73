"""Dagster resources: typed clients configured once from the one settings object, opened in one place.

`resources_for(settings)` is the only place the environment becomes resources: the code location calls it once
with `load_settings()`, and a test calls it with its own settings (a temporary lake, another Redis database)
instead of patching environment variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from lakehouse.settings import Settings

if TYPE_CHECKING:  # imported when an asset asks for a client, not when the code location loads
    from pyspark.sql import SparkSession
    from redis import Redis


class LakehouseResource(ConfigurableResource):
    """The settings a run uses (fixed when the resource is configured) and the shared Spark session."""

    # Only the fields that differ from the defaults, as JSON values: what Dagster shows as this resource's config.
    overrides: dict[str, Any] = {}
    app_name: str = "lakehouse-dagster"
    _settings: Settings | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings, app_name: str = "lakehouse-dagster") -> LakehouseResource:
        return cls(overrides=settings.model_dump(mode="json", exclude_defaults=True), app_name=app_name)

    def settings(self) -> Settings:
        if self._settings is None:
            # model_validate skips the environment: it was read once, when the resource was configured.
            self._settings = Settings.model_validate(self.overrides)
        return self._settings

    def spark(self) -> SparkSession:
        from lakehouse.spark import spark_session

        return spark_session(self.settings(), app_name=self.app_name)


class RedisResource(ConfigurableResource):
    """The online feature store's client, opened per use and closed after it."""

    url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisResource:
        return cls(url=settings.redis_url)

    @contextmanager
    def client(self) -> Iterator[Redis]:
        from redis import Redis

        client = Redis.from_url(self.url)
        try:
            yield client
        finally:
            client.close()


def resources_for(settings: Settings) -> dict[str, ConfigurableResource]:
    """Every resource an asset of this project may ask for, configured from ``settings``."""
    return {"lakehouse": LakehouseResource.from_settings(settings), "redis": RedisResource.from_settings(settings)}
