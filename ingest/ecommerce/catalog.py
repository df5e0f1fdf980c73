"""The product catalog: one MongoDB document per product, holding its own not-yet-published events.

FerretDB has no multi-document transactions, so a product change and its event cannot be two writes (a crash
between them would lose one). Instead the ``ecommerce.product.upserted`` envelope is embedded in the product
document by the same single-document update that changes the product (``pending_events``, keyed by event id,
with a ``pending_count``); a single-document write is atomic, so the change and its event exist together or not
at all. The relay publishes pending events in version order and removes each one only after Kafka acknowledged
it; a crash in between publishes it again, and consumers drop the duplicate by event id. Prices are stored as
strings: FerretDB has no Decimal128 and binary floats would round money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from ingest.core.errors import Conflict
from ingest.core.outbox import OutboxEvent
from ingest.ecommerce.commands import UpsertProduct

COLLECTION = "catalog_products"
PRODUCT_FIELDS = ("sku", "name", "category", "merchant_id", "price", "currency")


@dataclass(frozen=True)
class Product:
    product_id: str
    sku: str
    name: str
    category: str
    merchant_id: str
    price: Decimal
    currency: str
    version: int
    fingerprint: str

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Product:
        fields = {name: doc[name] for name in PRODUCT_FIELDS}
        fields["price"] = Decimal(doc["price"])
        return cls(doc["_id"], **fields, version=doc["version"], fingerprint=doc["command_fingerprint"])

    def public(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("product_id", *PRODUCT_FIELDS, "version")}


def find_product(products: Collection, product_id: str) -> Product | None:
    doc = products.find_one({"_id": product_id}, {"pending_events": 0})
    return None if doc is None else Product.from_document(doc)


def find_products(products: Collection, product_ids: list[str]) -> dict[str, Product]:
    # One lookup per id: FerretDB's SQLite backend serves `_id` equality from its key but scans for `$in`.
    docs = [
        doc
        for product_id in sorted(set(product_ids))
        if (doc := products.find_one({"_id": product_id}, {"pending_events": 0}))
    ]
    return {doc["_id"]: Product.from_document(doc) for doc in docs}


def _pending(event: OutboxEvent, sequence: int) -> dict[str, Any]:
    return {"seq": sequence, "topic": event.topic, "key": event.key, "envelope": event.text}


def save_product(
    products: Collection, command: UpsertProduct, fingerprint: str, event: OutboxEvent, actor: str, read: Product | None
) -> bool:
    """Write the product and its pending event in one document update; False when ``read`` is no longer current."""
    now = datetime.now(UTC)
    fields = command.model_dump(include=set(PRODUCT_FIELDS))
    fields["price"] = format(command.price, "f")
    stamp = {"command_fingerprint": fingerprint, "updated_at": now, "updated_by": actor}
    try:
        if read is None:
            products.insert_one(
                {"_id": command.product_id, **fields, **stamp, "version": 1, "created_at": now, "created_by": actor}
                | {"pending_events": {event.event_id: _pending(event, 1)}, "pending_count": 1}
            )
            return True
        changes = {**fields, **stamp, f"pending_events.{event.event_id}": _pending(event, read.version + 1)}
        result = products.update_one(
            {"_id": command.product_id, "version": read.version},
            {"$set": changes, "$inc": {"version": 1, "pending_count": 1}},
        )
        return result.matched_count == 1
    except DuplicateKeyError as error:
        # The unique sku index, not a query before the write, guards skus: on FerretDB's SQLite backend a query on
        # any field but _id scans the whole collection. Only on this rare path do we look for the owner.
        owner = products.find_one({"sku": command.sku, "_id": {"$ne": command.product_id}}, {"_id": 1})
        if owner is not None:
            raise Conflict(f"sku {command.sku!r} already belongs to product {owner['_id']!r}") from error
        # Another writer created this product after our read: let the caller read again.
        return False


@dataclass(frozen=True)
class PendingProductEvent:
    product_id: str
    event_id: str
    topic: str
    key: str
    text: str


def pending_product_events(products: Collection, limit: int) -> list[PendingProductEvent]:
    """Unpublished product events of up to ``limit`` products, each product's in the order they were written."""
    found: list[PendingProductEvent] = []
    for doc in products.find({"pending_count": {"$gt": 0}}, {"pending_events": 1}).sort("_id", 1).limit(limit):
        pending = sorted(doc.get("pending_events", {}).items(), key=lambda item: item[1]["seq"])
        found += [
            PendingProductEvent(doc["_id"], event_id, item["topic"], item["key"], item["envelope"])
            for event_id, item in pending
        ]
    return found


def mark_product_event_sent(products: Collection, product_id: str, event_id: str) -> None:
    # Conditional on the event still being there, so two relays finishing the same event decrement once.
    products.update_one(
        {"_id": product_id, f"pending_events.{event_id}": {"$exists": True}},
        {"$unset": {f"pending_events.{event_id}": ""}, "$inc": {"pending_count": -1}},
    )
