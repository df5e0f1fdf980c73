"""The e-commerce use cases, one per command, and `handle`, the single entry the HTTP app, generator and importer use.

Each PostgreSQL use case runs in one transaction: the business rows, their audit rows (by trigger) and the outbox
events commit together or not at all. Commands are idempotent by their id: an identical retry returns the stored
result and emits nothing; the same id with other content is an `IdempotencyConflict`. Upserts (products, carts)
are keyed by the aggregate id, so new content there is an update, and identical content a no-op. Products live in
MongoDB (see `catalog.py` for how their events avoid a dual write).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingest.core import outbox
from ingest.core.errors import Conflict, InvalidCommand
from ingest.core.idempotency import as_utc, fingerprint
from ingest.ecommerce import catalog, store
from ingest.ecommerce.commands import (
    CapturePayment,
    Command,
    FileChargeback,
    PlaceOrder,
    RegisterCustomer,
    UpdateCart,
    UpsertProduct,
)
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.contract import (
    DOMAIN,
    CartLineV1,
    CartUpdatedV1,
    CustomerRegisteredV1,
    ProductUpsertedV1,
    build_event,
)
from ingest.ecommerce.ordering import capture_payment, file_chargeback, place_order
from ingest.ecommerce.unit_of_work import Accepted, replayed, require_customer, require_products, transaction


def register_customer(command: RegisterCustomer, ctx: EcommerceContext) -> Accepted:
    with transaction(ctx, "customer", command.customer_id) as conn:
        if (earlier := replayed(conn, "customers", "customer_id", command, "customer")) is not None:
            return earlier
        registered_at = as_utc(command.registered_at)
        store.insert_customer(conn, command, registered_at, fingerprint(command), ctx.actor)
        payload = CustomerRegisteredV1(**command.model_dump(exclude={"registered_at"}), registered_at=registered_at)
        event = build_event("ecommerce.customer.registered", command.customer_id, payload, registered_at)
        event_ids = outbox.append(conn, DOMAIN, [event])
    return Accepted("customer", command.customer_id, "created", 1, event_ids)


def upsert_product(command: UpsertProduct, ctx: EcommerceContext, attempts: int = 3) -> Accepted:
    stamp = fingerprint(command)
    for _ in range(attempts):
        current = catalog.find_product(ctx.products, command.product_id)
        if current is not None and current.fingerprint == stamp:
            return Accepted("product", command.product_id, "unchanged", current.version)
        now = datetime.now(UTC)
        event = build_event(
            "ecommerce.product.upserted", command.product_id, ProductUpsertedV1(**command.model_dump()), now
        )
        if catalog.save_product(ctx.products, command, stamp, event, ctx.actor, current):
            outcome = "created" if current is None else "updated"
            version = 1 if current is None else current.version + 1
            return Accepted("product", command.product_id, outcome, version, (event.event_id,))
    raise Conflict(f"product {command.product_id!r} kept changing concurrently; retry the command")


def update_cart(command: UpdateCart, ctx: EcommerceContext) -> Accepted:
    stamp = fingerprint(command)
    with transaction(ctx, "cart", command.cart_id) as conn:
        cart = store.find_cart(conn, command.cart_id)
        if cart is not None and cart.fingerprint == stamp:
            return Accepted("cart", cart.cart_id, "unchanged", cart.version)
        if cart is not None and cart.customer_id != command.customer_id:
            raise Conflict(f"customer_id: cart {cart.cart_id!r} belongs to customer {cart.customer_id!r}")
        require_customer(conn, command.customer_id)
        products = require_products(ctx, [line.product_id for line in command.lines])
        lines = [store.PricedLine(ln.product_id, ln.quantity, products[ln.product_id].price) for ln in command.lines]
        if cart is None:
            store.insert_cart(conn, command.cart_id, command.customer_id, stamp, ctx.actor)
        elif not store.update_cart(conn, cart, stamp, ctx.actor):
            raise Conflict(f"cart {cart.cart_id!r} changed concurrently; retry the command")
        store.replace_cart_lines(conn, command.cart_id, lines, ctx.actor)
        now = datetime.now(UTC)
        payload = CartUpdatedV1(
            cart_id=command.cart_id,
            customer_id=command.customer_id,
            lines=[
                CartLineV1(product_id=ln.product_id, quantity=ln.quantity, unit_price=ln.unit_price) for ln in lines
            ],
            updated_at=now,
        )
        event_ids = outbox.append(conn, DOMAIN, [build_event("ecommerce.cart.updated", command.cart_id, payload, now)])
    if cart is None:
        return Accepted("cart", command.cart_id, "created", 1, event_ids)
    return Accepted("cart", command.cart_id, "updated", cart.version + 1, event_ids)


__all__ = ["USE_CASES", "Accepted", "handle"]

USE_CASES: dict[type[Command], Callable[[Any, EcommerceContext], Accepted]] = {
    RegisterCustomer: register_customer,
    UpsertProduct: upsert_product,
    UpdateCart: update_cart,
    PlaceOrder: place_order,
    CapturePayment: capture_payment,
    FileChargeback: file_chargeback,
}


def handle(command: Command, ctx: EcommerceContext) -> Accepted:
    """Run the use case of ``command``; raises NotFound, Conflict (incl. IdempotencyConflict) or InvalidCommand."""
    use_case = USE_CASES.get(type(command))
    if use_case is None:
        raise InvalidCommand(f"no use case handles {type(command).__name__}")
    return use_case(command, ctx)
