"""Which product ids exist in the catalog, remembered by this process: the order path's catalog check.

An order line carries its own price (what the shop front showed the customer), so placing an order only needs to
know that each product exists. No command removes a product from the catalog, so an id found once stays valid for
good: this cache can miss but never answer wrongly, and needs no expiry (the staleness bound is zero). A miss costs
one lookup by ``_id`` (about 12 ms on FerretDB's SQLite backend); a product created a moment ago is found by it.
Carts price their lines from the catalog and still read it each time (`unit_of_work.require_products`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from pymongo.collection import Collection

from ingest.ecommerce import catalog

CAPACITY = 200_000  # ids (~20 MB): past it the set starts again, which costs misses only


class KnownProducts:
    def __init__(self, products: Collection, capacity: int = CAPACITY) -> None:
        self._products = products
        self._capacity = capacity
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def missing(self, product_ids: Iterable[str]) -> list[str]:
        """The ids among ``product_ids`` that are not in the catalog, sorted."""
        unseen = sorted(set(product_ids) - self._known)
        if not unseen:
            return []
        found = catalog.find_products(self._products, unseen)
        with self._lock:
            if len(self._known) + len(found) > self._capacity:
                self._known.clear()
            self._known.update(found)
        return [product_id for product_id in unseen if product_id not in found]
