"""The smoke asset through Dagster's in-process test helper: it materialises and reports useful metadata."""

from __future__ import annotations

import pytest
from dagster import materialize

from assets.resources import LakehouseResource
from assets.smoke import smoke_events_bronze
from ingest.smoke import SMOKE_TOPIC, publish, smoke_events

pytestmark = pytest.mark.integration


def test_smoke_asset_reports_rows_schema_and_preview(stack_settings, spark, tmp_path, monkeypatch, unique_name):
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "lake"))
    publish(stack_settings.kafka_bootstrap_servers, SMOKE_TOPIC, smoke_events(5, unique_name))

    result = materialize([smoke_events_bronze], resources={"lakehouse": LakehouseResource()})

    assert result.success
    (materialization,) = result.asset_materializations_for_node("smoke_events_bronze")
    metadata = materialization.metadata
    landed = spark.read.format("delta").load(str(tmp_path / "lake" / "bronze" / "smoke_events"))
    assert metadata["row_count"].value == landed.count() >= 5
    assert landed.filter(landed.value.contains(unique_name)).count() == 5
    columns = [column.name for column in metadata["dagster/column_schema"].schema.columns]
    assert columns == ["key", "value", "topic", "partition", "offset", "kafka_timestamp", "ingested_at"]
    assert "| key" in metadata["preview"].value
