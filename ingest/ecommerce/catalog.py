"""The product catalog: one MongoDB document per product, holding its own not-yet-published events.

FerretDB has no multi-document transactions, so a product change and its event cannot be two writes (a crash
between them would lose one). Instead the ``ecommerce.product.upserted`` envelope is embedded in the product
document by the same single-document update that changes the product (``pending_events``, keyed by event id,
with a ``pending_count``); a single-document write is atomic, so the change and its event exist together or not
at all. The relay publishes pending events in version order and removes each one only after Kafka acknowledged
it; a crash in between publishes it again, and consumers drop the duplicate by event id. Prices are stored as
strings: FerretDB has no Decimal128 and binary floats would round money.

The relay finds pending events through ``catalog_pending``, which holds only pending work: a marker per event,
``<product_id>:<event_id>``, written *before* the product document and carrying the version that write creates.
A filter on any field but _id scans the whole catalog in FerretDB, so the relay reads the markers and then each
product by _id. A marker whose event is not pending in its product is dropped once the product's version has
reached the marker's: that write then either landed (and was published) or lost its optimistic race, and can no
longer land. Below that version the write may still be in flight, so the marker stays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pymongo import DeleteOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from ingest.core.errors import Conflict
from ingest.core.outbox import OutboxEvent
from ingest.ecommerce.commands import UpsertProduct

COLLECTION = "catalog_products"
PENDING_COLLECTION = "catalog_pending"
# Inserted by migration 0003: events written before markers existed still need theirs (``adopt_unmarked_events``).
ADOPTION_TODO = "~adopt-unmarked-events"
PRODUCT_FIELDS = ("sku", "name", "category", "merchant_id", "price", "currency")
WRITE_CHUNK = 50  # statements per bulk write command (see `_chunks`)
_T = TypeVar("_T")


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


def pending_markers(products: Collection) -> Collection:
    return products.database[PENDING_COLLECTION]


def save_product(
    products: Collection, command: UpsertProduct, fingerprint: str, event: OutboxEvent, actor: str, read: Product | None
) -> bool:
    """Write the product and its pending event in one document update; False when ``read`` is no longer current."""
    now = datetime.now(UTC)
    fields = command.model_dump(include=set(PRODUCT_FIELDS))
    fields["price"] = format(command.price, "f")
    stamp = {"command_fingerprint": fingerprint, "updated_at": now, "updated_by": actor}
    version = 1 if read is None else read.version + 1
    marker = _mark_pending(products, command.product_id, event.event_id, version, now)
    try:
        if read is None:
            products.insert_one(
                {"_id": command.product_id, **fields, **stamp, "version": 1, "created_at": now, "created_by": actor}
                | {"pending_events": {event.event_id: _pending(event, 1)}, "pending_count": 1}
            )
            return True
        changes = {**fields, **stamp, f"pending_events.{event.event_id}": _pending(event, version)}
        result = products.update_one(
            {"_id": command.product_id, "version": read.version},
            {"$set": changes, "$inc": {"version": 1, "pending_count": 1}},
        )
        if result.matched_count != 1:
            pending_markers(products).delete_one({"_id": marker})
        return result.matched_count == 1
    except DuplicateKeyError as error:
        pending_markers(products).delete_one({"_id": marker})
        # The unique sku index, not a query before the write, guards skus: on FerretDB's SQLite backend a query on
        # any field but _id scans the whole collection. Only on this rare path do we look for the owner.
        owner = products.find_one({"sku": command.sku, "_id": {"$ne": command.product_id}}, {"_id": 1})
        if owner is not None:
            raise Conflict(f"sku {command.sku!r} already belongs to product {owner['_id']!r}") from error
        # Another writer created this product after our read: let the caller read again.
        return False


def _mark_pending(products: Collection, product_id: str, event_id: str, version: int, now: datetime) -> str:
    """The marker of an event about to be written with the product's ``version``; upserted, so idempotent."""
    marker = f"{product_id}:{event_id}"
    pending_markers(products).update_one(
        {"_id": marker},
        {"$setOnInsert": {"product_id": product_id, "event_id": event_id, "version": version, "written_at": now}},
        upsert=True,
    )
    return marker


@dataclass(frozen=True)
class PendingProductEvent:
    product_id: str
    event_id: str
    topic: str
    key: str
    text: str


def pending_product_events(products: Collection, limit: int) -> list[PendingProductEvent]:
    """Unpublished product events of the products with markers, each product's in the order they were written, until
    at least ``limit`` events (a product's events are taken together). Reads markers, then each product by _id."""
    found: list[PendingProductEvent] = []
    products_read: dict[str, dict[str, Any]] = {}
    settled: list[str] = []
    with pending_markers(products).find({}).sort("_id", 1) as markers:
        for marker in markers:
            product_id = marker.get("product_id")
            if product_id is None:
                continue  # the adoption to-do
            if product_id not in products_read:
                if len(found) >= limit:
                    break
                doc = products.find_one({"_id": product_id}, {"pending_events": 1, "version": 1}) or {}
                products_read[product_id] = doc
                found += _pending_events_of(product_id, doc.get("pending_events", {}))
            doc = products_read[product_id]
            if marker["event_id"] not in doc.get("pending_events", {}) and doc.get("version", 0) >= marker["version"]:
                settled.append(marker["_id"])  # published, or its write lost
    _delete_markers(products, settled)
    return found


def _pending_events_of(product_id: str, pending: dict[str, dict[str, Any]]) -> list[PendingProductEvent]:
    in_order = sorted(pending.items(), key=lambda item: item[1]["seq"])
    return [
        PendingProductEvent(product_id, event_id, item["topic"], item["key"], item["envelope"])
        for event_id, item in in_order
    ]


def mark_product_events_sent(products: Collection, events: Sequence[tuple[str, str]]) -> None:
    """Remove these published (product id, event id) events from their products, then their markers: one write
    command per chunk of events instead of two round trips per event."""
    # Conditional on the event still being there, so two relays finishing the same event decrement once.
    unsets = [
        UpdateOne(
            {"_id": product_id, f"pending_events.{event_id}": {"$exists": True}},
            {"$unset": {f"pending_events.{event_id}": ""}, "$inc": {"pending_count": -1}},
        )
        for product_id, event_id in events
    ]
    for chunk in _chunks(unsets):
        products.bulk_write(chunk, ordered=False)
    # Only after the products: a crash in between leaves markers that the next pass drops.
    _delete_markers(products, [f"{product_id}:{event_id}" for product_id, event_id in events])


def _delete_markers(products: Collection, marker_ids: Sequence[str]) -> None:
    # By _id, one statement each: FerretDB's SQLite backend serves `_id` equality from its key but scans for `$in`.
    for chunk in _chunks([DeleteOne({"_id": marker_id}) for marker_id in marker_ids]):
        pending_markers(products).bulk_write(chunk, ordered=False)


def _chunks(operations: Sequence[_T]) -> Iterator[list[_T]]:
    """Write commands of at most ``WRITE_CHUNK`` statements: FerretDB 1.24 never answers an update or delete command
    of 100 statements or more (measured: 99 take 0.1 s, 100 hang past any timeout)."""
    for start in range(0, len(operations), WRITE_CHUNK):
        yield list(operations[start : start + WRITE_CHUNK])


def adopt_unmarked_events(products: Collection) -> int:
    """Once, if migration 0003 asked for it: a marker for each event written before markers existed (one scan of
    the catalog, indexed by pending_count on MongoDB). Returns how many events it found."""
    markers = pending_markers(products)
    if markers.find_one({"_id": ADOPTION_TODO}) is None:
        return 0
    adopted = 0
    for doc in products.find({"pending_count": {"$gt": 0}}, {"pending_events": 1}):
        for event_id, item in doc.get("pending_events", {}).items():
            _mark_pending(products, doc["_id"], event_id, item["seq"], datetime.now(UTC))
            adopted += 1
    markers.delete_one({"_id": ADOPTION_TODO})
    return adopted
