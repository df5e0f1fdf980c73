"""Use cases of an order's life: placing it (and, in the HTTP app, acting on its fraud check), capturing its
payment, and the chargeback that may follow.

Money is the order's: a payment captures, and a chargeback claws back, the amount fixed when the order was placed.
Each use case locks the order row, so a payment and a chargeback of one order are decided one after the other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import psycopg

from ingest.core import outbox
from ingest.core.errors import Conflict, InvalidCommand, NotFound
from ingest.core.idempotency import as_utc, fingerprint
from ingest.core.unit_of_work import create_once
from ingest.ecommerce import fraud_check, order_store
from ingest.ecommerce.commands import CapturePayment, FileChargeback, PlaceOrder, TokenisedOrder
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.contract import (
    DOMAIN,
    ChargebackFiledV1,
    OrderHeldV1,
    OrderLineV1,
    OrderPlacedV2,
    OrderStatusChangedV1,
    PaymentCapturedV1,
    build_event,
)
from ingest.ecommerce.unit_of_work import (
    Accepted,
    FraudVerdict,
    replayed,
    require_listed,
    transaction,
)

PLACED = "placed"
PAID = "paid"
CHARGED_BACK = "chargeback"
REVIEW = "review"


def place_order(command: PlaceOrder, ctx: EcommerceContext) -> Accepted:
    """Record the order; where scoring is on, then have it scored and act on the verdict.

    The check runs only for a new order, after its transaction committed: the order is durable whatever the fraud
    service does, and no lock or connection is held while it answers. A replay is never scored again; it returns
    the verdict recorded by the original request (none if that check has not finished).
    """
    placed_at = as_utc(command.placed_at)  # fixed once: the row, the event and the fraud check see the same time
    order = command.protected(ctx.card_token_key)  # the card number goes no further
    accepted = record_order(order, placed_at, ctx)
    if ctx.fraud is None or accepted.outcome != "created":
        return accepted
    verdict = fraud_check.ask_fraud_service(order, placed_at, ctx.fraud)
    return act_on_fraud_verdict(accepted, verdict, ctx)


def record_order(command: TokenisedOrder, placed_at: datetime, ctx: EcommerceContext) -> Accepted:
    """Store a new order with its lines and ``order.placed`` event in one round trip; a replay returns the
    original's result (with its recorded fraud verdict where scoring is on)."""
    if command.amount <= 0:
        raise InvalidCommand("lines: the order total (quantity x unit_price) must be positive")
    require_listed(ctx, [line.product_id for line in command.lines])
    payload = OrderPlacedV2(
        **command.model_dump(exclude={"lines", "placed_at"}),
        amount=command.amount,
        lines=[OrderLineV1(**line.model_dump()) for line in command.lines],
        placed_at=placed_at,
    )
    event = build_event("ecommerce.order.placed", command.order_id, payload, placed_at, version=2)
    writes = order_store.new_order_writes(command, placed_at, fingerprint(command), ctx.actor, ctx.fraud is not None)
    try:
        created = create_once(ctx.pool, DOMAIN, writes, [event])
    except psycopg.errors.ForeignKeyViolation as error:
        # The only reference an order row holds: its customer (the lines' one is the order just inserted).
        raise NotFound(f"customer_id: customer {command.customer_id!r} does not exist (register it first)") from error
    if created:
        return Accepted("order", command.order_id, "created", 1, (event.event_id,))
    with transaction(ctx, "order", command.order_id) as conn:
        earlier = replayed(conn, "orders", "order_id", command, "order")
        if earlier is None:  # unreachable: the key existed a moment ago and orders are never deleted
            raise Conflict(f"order {command.order_id!r} exists but could not be read back; retry the command")
        return (
            earlier if ctx.fraud is None else replace(earlier, fraud=fraud_check.stored_verdict(conn, command.order_id))
        )


def act_on_fraud_verdict(accepted: Accepted, verdict: FraudVerdict, ctx: EcommerceContext) -> Accepted:
    """Record ``verdict`` on the order; unless approved, a still-placed order moves to review (a status change
    event, so silver and everything downstream see the hold, and an ``ecommerce.order.held`` notification for
    other domains). A decline is a review too: the order was already
    accepted, and cancelling it is a person's call, with the model's decision and score in front of them."""
    with transaction(ctx, "order", accepted.id) as conn:
        locked = locked_order(conn, accepted.id)
        # The first verdict stands: the app's own check and the rescoring job may both reach an order.
        if (recorded := fraud_check.stored_verdict(conn, accepted.id)) is not None:
            return replace(accepted, version=locked.version, fraud=recorded)
        order = fraud_check.record_verdict(conn, locked, verdict, ctx.actor)
        # Another command (a payment) may have moved the order while the service was thinking: keep its status.
        if not fraud_check.holds_for_review(verdict) or order.status != PLACED:
            return replace(accepted, version=order.version, fraud=verdict)
        changed = move_order(conn, order, REVIEW, verdict.checked_at, ctx.actor)
        event_ids = outbox.append(conn, DOMAIN, [changed, held_event(order, verdict)])
    return replace(accepted, version=order.version + 1, event_ids=accepted.event_ids + event_ids, fraud=verdict)


def held_event(order: order_store.OrderRow, verdict: FraudVerdict) -> outbox.OutboxEvent:
    """The notification that ``order`` waits for a person: published with its status change, in its transaction."""
    payload = OrderHeldV1(
        order_id=order.order_id,
        customer_id=order.customer_id,
        decision=verdict.decision,
        score=verdict.score,
        held_at=verdict.checked_at,
    )
    return build_event("ecommerce.order.held", order.order_id, payload, verdict.checked_at)


def locked_order(conn: psycopg.Connection, order_id: str) -> order_store.OrderRow:
    order = order_store.lock_order(conn, order_id)
    if order is None:
        raise NotFound(f"order_id: order {order_id!r} does not exist")
    return order


def move_order(
    conn: psycopg.Connection, order: order_store.OrderRow, status: str, at: datetime, actor: str
) -> outbox.OutboxEvent:
    """Set the order's status (optimistically) and return the status_changed event to publish with it."""
    if not order_store.set_order_status(conn, order, status, actor):
        raise Conflict(f"order {order.order_id!r} changed concurrently; retry the command")
    payload = OrderStatusChangedV1(order_id=order.order_id, status=status, changed_at=at)
    return build_event("ecommerce.order.status_changed", order.order_id, payload, at)


def capture_payment(command: CapturePayment, ctx: EcommerceContext) -> Accepted:
    with transaction(ctx, "payment", command.payment_id) as conn:
        if (earlier := replayed(conn, "payments", "payment_id", command, "payment")) is not None:
            return earlier
        order = locked_order(conn, command.order_id)
        if (existing := order_store.payment_of(conn, order.order_id)) is not None:
            raise Conflict(f"order_id: order {order.order_id!r} is already paid by payment {existing!r}")
        if order.status != PLACED:
            raise Conflict(f"order_id: order {order.order_id!r} is {order.status}; only a placed order can be paid")
        captured_at = as_utc(command.captured_at)
        row = (command.payment_id, order.order_id, order.amount, command.method, captured_at, fingerprint(command))
        order_store.insert_payment(conn, row, ctx.actor)
        payload = PaymentCapturedV1(
            payment_id=command.payment_id,
            order_id=order.order_id,
            amount=order.amount,
            method=command.method,
            captured_at=captured_at,
        )
        # Keyed by order id: the payment, the order's status change and a later chargeback stay in order.
        captured = build_event("ecommerce.payment.captured", order.order_id, payload, captured_at)
        event_ids = outbox.append(conn, DOMAIN, [captured, move_order(conn, order, PAID, captured_at, ctx.actor)])
    return Accepted("payment", command.payment_id, "created", 1, event_ids)


def file_chargeback(command: FileChargeback, ctx: EcommerceContext) -> Accepted:
    """Record the fraud label. Accepted for a placed or paid order: imported histories may lack the capture."""
    with transaction(ctx, "chargeback", command.chargeback_id) as conn:
        if (earlier := replayed(conn, "chargebacks", "chargeback_id", command, "chargeback")) is not None:
            return earlier
        order = locked_order(conn, command.order_id)
        if (existing := order_store.chargeback_of(conn, order.order_id)) is not None:
            raise Conflict(f"order_id: order {order.order_id!r} already has chargeback {existing!r}")
        filed_at = as_utc(command.filed_at)
        row = (command.chargeback_id, order.order_id, command.reason, order.amount, filed_at, fingerprint(command))
        order_store.insert_chargeback(conn, row, ctx.actor)
        payload = ChargebackFiledV1(
            chargeback_id=command.chargeback_id,
            order_id=order.order_id,
            reason=command.reason,
            amount=order.amount,
            filed_at=filed_at,
        )
        filed = build_event("ecommerce.chargeback.filed", order.order_id, payload, filed_at)
        event_ids = outbox.append(conn, DOMAIN, [filed, move_order(conn, order, CHARGED_BACK, filed_at, ctx.actor)])
    return Accepted("chargeback", command.chargeback_id, "created", 1, event_ids)
