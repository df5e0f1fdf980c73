"""IoT: registry topics → bronze → silver (checked) → gold with the kit's factories, plus the telemetry stream asset
(bronze and silver of telemetry and scores), in the group ``iot`` with its job, schedule and sensor."""

from dagster import Definitions

from assets.core.domain import domain_definitions
from assets.iot import descriptions
from assets.iot.stream import telemetry_stream_asset
from pipelines.iot.flows import STREAMED
from pipelines.iot.lakehouse import LAKEHOUSE

defs = Definitions.merge(
    domain_definitions(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD, streamed=STREAMED),
    Definitions(assets=[telemetry_stream_asset()]),
)
