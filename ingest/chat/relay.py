"""What the kit's relay drains for chat: the ``chat.outbox`` table, with two projections fed from each published
batch: the Cassandra message views (messages by room, room days, mentions) and the MongoDB profiles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ingest.chat.context import open_context
from ingest.chat.contract import DOMAIN
from ingest.core.relay import RELAY_POOL_SIZE, RelaySources
from lakehouse.settings import Settings


@contextmanager
def open_relay_sources(settings: Settings) -> Iterator[RelaySources]:
    """Every client a relay pass needs, opened together and closed together."""
    with open_context(settings, actor="relay", pool_size=RELAY_POOL_SIZE) as ctx:
        yield RelaySources(DOMAIN, ctx.pool, projections=(ctx.views.project, ctx.profiles.project))
