"""The code location Dagster loads (`dagster dev -m assets.definitions`): domain definitions merged here."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from assets import ecommerce, fraud
from assets.resources import LakehouseResource
from assets.smoke import smoke_events_bronze

defs = Definitions.merge(
    Definitions(assets=[smoke_events_bronze]),
    ecommerce.defs,
    fraud.defs,
    # One process for a whole run: every asset shares one Spark session instead of starting a JVM each.
    Definitions(resources={"lakehouse": LakehouseResource()}, executor=in_process_executor),
)
