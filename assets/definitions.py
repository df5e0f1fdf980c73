"""The code location Dagster loads (`dagster dev -m assets.definitions`): domain definitions merged here."""

from __future__ import annotations

from dagster import Definitions

from assets.resources import LakehouseResource
from assets.smoke import smoke_events_bronze

defs = Definitions(
    assets=[smoke_events_bronze],
    resources={"lakehouse": LakehouseResource()},
)
