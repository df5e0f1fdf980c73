"""What the kit's relay drains for IoT: the ``iot.outbox`` table (registry events, tickets, alerts; alerts also go
to NATS, as the contract declares), with the MongoDB configuration documents projected from each published batch.
Telemetry never passes here: the gateway produces it to Kafka itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ingest.core.relay import RELAY_POOL_SIZE, RelaySources
from ingest.iot.context import open_context
from ingest.iot.contract import DOMAIN
from lakehouse.settings import Settings


@contextmanager
def open_relay_sources(settings: Settings) -> Iterator[RelaySources]:
    """Every client a relay pass needs, opened together and closed together."""
    with open_context(settings, pool_size=RELAY_POOL_SIZE) as ctx:
        yield RelaySources(DOMAIN, ctx.pool, projections=(ctx.configs.project,))
