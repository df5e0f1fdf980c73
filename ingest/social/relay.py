"""What the kit's relay drains for social: the ``social.outbox`` table, projected after each acknowledged batch
into the post documents (MongoDB) and the home feeds and reactions (Cassandra).

Document events go through the PostgreSQL outbox, not the kit's `DocumentEvents`: every social command needs
PostgreSQL anyway (trust level, follows, idempotency), so its event commits there atomically with it, and the
documents are rebuilt from events idempotently; nothing is lost whichever store fails when.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from ingest.core.relay import RELAY_POOL_SIZE, RelaySources, sources_in
from ingest.core.relay import relay_pass as kit_relay_pass
from ingest.social import documents, feeds, stores
from ingest.social.context import open_context
from ingest.social.contract import DOMAIN
from lakehouse.settings import Settings


@contextmanager
def open_relay_sources(settings: Settings) -> Iterator[RelaySources]:
    with open_context(settings, actor="relay", pool_size=RELAY_POOL_SIZE) as ctx:
        assert ctx.views is not None

        def followers(user_id: str) -> list[str]:
            with ctx.pool.connection() as conn:
                return stores.followers(conn, user_id)

        projections = (partial(documents.project, ctx.posts), partial(feeds.project, ctx.views, followers))
        yield RelaySources(DOMAIN, ctx.pool, projections=projections)


def relay_pass(settings: Settings, batch_size: int = 500) -> int:
    """Publish (and project) everything pending now; returns how many events."""
    return kit_relay_pass(settings, sources_in(__name__), batch_size)
