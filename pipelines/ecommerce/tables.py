"""Where the e-commerce tables live: the caller (an asset, a test) says where the lake is, this says what's in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Bronze table per topic: ``bronze/ecommerce_<entity>``, fed by ingest/ecommerce/events.py's topics.
ENTITIES = ("customers", "products", "carts", "orders", "payments")
QUARANTINE = "ecommerce_events"


@dataclass(frozen=True)
class EcommerceLake:
    """``table(layer, name)`` and ``checkpoint(layer, name)`` paths, e.g. ``partial(lake.table_path, settings)``."""

    table: Callable[[str, str], str]
    checkpoint: Callable[[str, str], str]

    def bronze(self, entity: str) -> str:
        return self.table("bronze", f"ecommerce_{entity}")

    def silver(self, name: str) -> str:
        return self.table("silver", f"ecommerce_{name}")

    def gold(self, name: str) -> str:
        return self.table("gold", f"ecommerce_{name}")

    def quarantine(self) -> str:
        return self.table("quarantine", QUARANTINE)

    def silver_checkpoint(self, flow: str) -> str:
        return self.checkpoint("silver", f"ecommerce_{flow}")
