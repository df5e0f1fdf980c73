"""What the kit's relay drains for e-commerce: the ``ecommerce.outbox`` table, the product events waiting inside
their catalog documents, and the Cassandra ``orders_by_customer`` projection fed from published order events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pymongo.collection import Collection

from ingest.core.relay import RELAY_POOL_SIZE, RelaySources
from ingest.ecommerce import catalog
from ingest.ecommerce.context import open_context
from ingest.ecommerce.contract import DOMAIN
from ingest.ecommerce.projections import open_orders_by_customer
from lakehouse.settings import Settings


@dataclass(frozen=True)
class CatalogEvents:
    """Product events kept in their MongoDB documents (no multi-document transactions there) until published, found
    through their markers in ``catalog_pending`` (only pending work: no scan of the catalog)."""

    products: Collection

    def pending(self, limit: int) -> Sequence[catalog.PendingProductEvent]:
        return catalog.pending_product_events(self.products, limit)

    def mark_sent(self, events: Sequence[catalog.PendingProductEvent]) -> None:
        catalog.mark_product_events_sent(self.products, [(event.product_id, event.event_id) for event in events])


@contextmanager
def open_relay_sources(settings: Settings) -> Iterator[RelaySources]:
    """Every client a relay pass needs, opened together and closed together."""
    with (
        open_context(settings, actor="relay", pool_size=RELAY_POOL_SIZE) as ctx,
        open_orders_by_customer(settings) as orders_view,
    ):
        catalog.adopt_unmarked_events(ctx.products)
        yield RelaySources(
            DOMAIN, ctx.pool, projections=(orders_view.project,), documents=(CatalogEvents(ctx.products),)
        )
