"""What chat does when it hears other events through NATS (the kit runs these, once per event id, each inside a
chat transaction; ``lakehouse chat notifications``):

- ``chat.message.flagged``: a system message in the room, for its moderators, pointing at the flagged message;
- ``ecommerce.order.held``: a system message in the customer's support room (kind ``support``, external reference
  ``ecommerce:<customer_id>``), creating the chat user ``<customer_id>`` and the room the first time;
- ``iot.anomaly.alerted``: a system message in the device owner's device-alerts room (kind ``support``, external
  reference ``iot:<owner_id>``) naming the device, sensor, value, score and maintenance ticket, created likewise.

System messages are ordinary messages by ``system``: they go through the same outbox (and reach Cassandra through
the relay's projection). Other domains' events are read from the envelope's payload here, never from their code.
"""

from __future__ import annotations

import psycopg

from ingest.chat import contract as ev
from ingest.chat import store
from ingest.chat.messaging import post_message
from ingest.core import outbox
from ingest.core.envelope import EventEnvelope
from ingest.core.idempotency import as_utc
from ingest.core.notifications import PoisonMessage, Subscription

ACTOR = "notifications"
ORDER_HELD = "ecommerce.order.held"
ANOMALY_ALERTED = "iot.anomaly.alerted"
HOLD_REASONS = {
    "review": "is held for a manual review",
    "decline": "was declined by the fraud check",
    "unscored": "is held for review (the fraud check could not answer in time)",
}


def _field(envelope: EventEnvelope, name: str) -> str:
    value = envelope.payload.get(name)
    if not isinstance(value, str) or not value:
        raise PoisonMessage(f"{envelope.type} v{envelope.version}: payload.{name} missing or not a string")
    return value


def flagged_notice(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    """Tell the room's moderators a message was flagged (the notice itself is not moderated)."""
    if envelope.version != 1:
        raise PoisonMessage(f"chat.message.flagged v{envelope.version} is not understood (v1 only)")
    room_id, message_id = _field(envelope, "room_id"), _field(envelope, "message_id")
    if store.find_room(conn, room_id) is None:
        raise PoisonMessage(f"room {room_id!r} of flagged message {message_id} does not exist")
    score = envelope.payload.get("score")
    if not isinstance(score, int | float):
        raise PoisonMessage(f"chat.message.flagged: payload.score {score!r} is not a number")
    text = f"Moderators: message {message_id} was flagged for review (P(positive) {score:.2f}). " + str(
        envelope.payload.get("reason", "")
    )
    event = post_message(conn, ACTOR, room_id, ev.SYSTEM_AUTHOR, text.strip(), as_utc(None))
    outbox.append(conn, ev.DOMAIN, [event])


def order_held_notice(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    """Post the hold in the customer's support room, opening the room (and the chat user) on first use."""
    if envelope.version != 1:
        raise PoisonMessage(f"{ORDER_HELD} v{envelope.version} is not understood (v1 only)")
    customer_id, order_id = _field(envelope, "customer_id"), _field(envelope, "order_id")
    decision = envelope.payload.get("decision")
    if decision not in HOLD_REASONS:
        raise PoisonMessage(f"{ORDER_HELD}: decision {decision!r} is not one of {sorted(HOLD_REASONS)}")
    room_id = support_room(conn, customer_id)
    text = f"Your order {order_id} {HOLD_REASONS[decision]}. We will get back to you here."
    outbox.append(conn, ev.DOMAIN, [post_message(conn, ACTOR, room_id, ev.SYSTEM_AUTHOR, text, as_utc(None))])


def device_alert_notice(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    """Post an anomaly alert in the device owner's device-alerts room, opening it (and the chat user) on first use."""
    if envelope.version != 1:
        raise PoisonMessage(f"{ANOMALY_ALERTED} v{envelope.version} is not understood (v1 only)")
    owner_id, device_id = _field(envelope, "owner_id"), _field(envelope, "device_id")
    sensor, ticket_id = _field(envelope, "sensor"), _field(envelope, "ticket_id")
    reading_at = _field(envelope, "reading_at")
    value, score = envelope.payload.get("value"), envelope.payload.get("anomaly_score")
    if not isinstance(value, int | float) or not isinstance(score, int | float):
        raise PoisonMessage(f"{ANOMALY_ALERTED}: payload.value {value!r} / anomaly_score {score!r} are not numbers")
    room_id = support_room(
        conn, owner_id, f"iot:{owner_id}", f"device-alerts-{owner_id}", "Device alerts", ANOMALY_ALERTED
    )
    text = (
        f"Device {device_id}: {sensor} read {value:g} at {reading_at}, flagged as anomalous (score {score:.2f}). "
        f"Maintenance ticket {ticket_id}."
    )
    outbox.append(conn, ev.DOMAIN, [post_message(conn, ACTOR, room_id, ev.SYSTEM_AUTHOR, text, as_utc(None))])


def support_room(
    conn: psycopg.Connection,
    customer_id: str,
    reference: str | None = None,
    room_id: str | None = None,
    title: str = "Support",
    cause: str = ORDER_HELD,
) -> str:
    """The user's support room for ``reference`` (by default their e-commerce one), creating the user, the room and
    the membership (with events) if needed."""
    reference = reference or f"ecommerce:{customer_id}"
    if (existing := store.room_by_external_ref(conn, reference)) is not None:
        return existing
    now, room_id, events = as_utc(None), room_id or f"support-{customer_id}", []
    if not store.existing_users(conn, [customer_id]):
        user = {"user_id": customer_id, "display_name": customer_id, "email": None, "registered_at": now}
        store.insert_user(conn, user, "notification:" + cause, ACTOR)
        events.append(ev.build_event(ev.USER_REGISTERED, customer_id, ev.UserRegisteredV1(**user), now))
    room = {"room_id": room_id, "kind": "support", "title": title, "external_ref": reference, "created_at": now}
    store.insert_room(conn, room, "notification:" + cause, ACTOR)
    store.set_membership(conn, room_id, customer_id, "member", True, ACTOR)
    events.append(ev.build_event(ev.ROOM_CREATED, room_id, ev.RoomCreatedV1(**room, created_by=ev.SYSTEM_AUTHOR), now))
    membership = ev.MembershipChangedV1(
        room_id=room_id, user_id=customer_id, role="member", active=True, changed_by=ev.SYSTEM_AUTHOR, changed_at=now
    )
    events.append(ev.build_event(ev.MEMBERSHIP_CHANGED, room_id, membership, now))
    outbox.append(conn, ev.DOMAIN, events)
    return room_id


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(ev.MESSAGE_FLAGGED[0], flagged_notice),
    Subscription(ORDER_HELD, order_held_notice),
    Subscription(ANOMALY_ALERTED, device_alert_notice),
)
