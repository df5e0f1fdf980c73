"""Notifications between domains: a domain acts on another domain's events, heard through NATS JetStream.

A consuming domain declares ``ingest/<domain>/notifications.py: SUBSCRIPTIONS``, one `Subscription` per event
type, and calls ``lakehouse_kit.create_inbox('<schema>')`` in its migrations. The kit runs one durable pull
consumer per (consuming domain, event type), so a consumer that was down catches up from where it acknowledged.
Each message is handled in ONE PostgreSQL transaction of the consuming domain: its event id goes into
``<schema>.inbox`` and the handler runs; an id already there (a redelivery, or the relay republishing past the
duplicate window) skips the handler. The message is acknowledged only after the commit: at least once on the
wire, once in effect. A handler raises `PoisonMessage` for an event it can never handle; that event, an
unparsable one, and one that failed ``max_deliver`` times go to ``lakehouse.dead.<consumer>.<event type>`` with
headers naming the reason, and the next message is handled as usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module

import psycopg
from nats.aio.msg import Msg

from ingest.core.envelope import EventEnvelope
from ingest.core.nats_bridge import NatsBridge, open_nats
from ingest.core.notification_delivery import Outcome, PoisonMessage, deliver, fetch, subscribe
from lakehouse.settings import Settings

__all__ = ["ConsumeReport", "ConsumerOptions", "PoisonMessage", "Subscription", "consume_pass", "run_consumers"]

log = logging.getLogger(__name__)

Handler = Callable[[psycopg.Connection, EventEnvelope], None]


@dataclass(frozen=True)
class Subscription:
    """``handle`` runs inside the consuming domain's transaction, once per event id of ``event_type``."""

    event_type: str
    handle: Handler


@dataclass
class ConsumeReport:
    """What a consumer run did with the messages it received."""

    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried: int = 0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return (
            f"handled {self.handled}, skipped {self.duplicates} already handled, "
            f"dead-lettered {self.dead_lettered}, retrying {self.retried}"
        )


@dataclass(frozen=True)
class ConsumerOptions:
    batch_size: int = 100
    # How long an empty fetch waits for a message; with ``until_idle``, one empty round ends the run.
    idle_timeout_s: float = 0.5
    max_deliver: int = 5
    # Seconds before a failed (not poisoned) message is redelivered, times its delivery count.
    retry_delay_s: float = 1.0


def run_consumers(
    settings: Settings,
    consumer_domain: str,
    subscriptions: Sequence[Subscription],
    *,
    until_idle: bool,
    stop: threading.Event | None = None,
    options: ConsumerOptions = ConsumerOptions(),
) -> ConsumeReport:
    """Consume ``subscriptions`` for ``consumer_domain`` until ``stop`` is set or, with ``until_idle``, until a
    round over every consumer finds nothing; returns the counts."""
    report = ConsumeReport()
    if not subscriptions:
        return report
    with _opened(settings, consumer_domain) as (conn, bridge):
        consumers = [subscribe(bridge, consumer_domain, sub.event_type) for sub in subscriptions]
        while stop is None or not stop.is_set():
            received = 0
            for subscription, consumer in zip(subscriptions, consumers, strict=True):
                messages = fetch(bridge, consumer, options.batch_size, options.idle_timeout_s)
                for message in messages:
                    report.count(_deliver(conn, bridge, consumer_domain, subscription, message, options))
                received += len(messages)
            if until_idle and received == 0:
                break
    log.info("%s notifications: %s", consumer_domain, report)
    return report


def consume_pass(settings: Settings, domain: str, subscriptions: Sequence[Subscription] | None = None) -> ConsumeReport:
    """Handle every notification waiting for ``domain`` now, then return: what the main job calls. By default
    the domain's own ``SUBSCRIPTIONS`` (`subscriptions_of`)."""
    wanted = subscriptions_of(domain) if subscriptions is None else subscriptions
    return run_consumers(settings, domain, wanted, until_idle=True)


def subscriptions_of(domain: str) -> tuple[Subscription, ...]:
    """``ingest/<domain>/notifications.py: SUBSCRIPTIONS``; none when the domain has no such module."""
    module = f"ingest.{domain}.notifications"
    try:
        return tuple(import_module(module).SUBSCRIPTIONS)
    except ModuleNotFoundError as error:
        if error.name is not None and module.startswith(error.name):
            return ()
        raise


def _deliver(
    conn: psycopg.Connection,
    bridge: NatsBridge,
    domain: str,
    subscription: Subscription,
    message: Msg,
    options: ConsumerOptions,
) -> Outcome:
    return deliver(
        conn,
        bridge,
        domain,
        subscription.event_type,
        subscription.handle,
        message,
        max_deliver=options.max_deliver,
        retry_delay_s=options.retry_delay_s,
    )


@contextmanager
def _opened(settings: Settings, consumer_domain: str) -> Iterator[tuple[psycopg.Connection, NatsBridge]]:
    # Autocommit: each message's transaction is an explicit `conn.transaction()`, nothing lingers between them.
    with (
        psycopg.connect(settings.postgres_url, autocommit=True, connect_timeout=10) as conn,
        open_nats(settings, f"{consumer_domain}-notifications") as bridge,
    ):
        yield conn, bridge
