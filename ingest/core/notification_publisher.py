"""The relay's side of notifications: the events a domain lists in ``DomainContract.notifications`` also go to
NATS JetStream, after Kafka acknowledged them and before the outbox marks them sent.

Each message is the envelope text, on subject ``lakehouse.<event type>``, with the event id as ``Nats-Msg-Id``:
a relay that crashed between publishing and marking sent publishes the batch again, and JetStream's duplicate
window stores each event once (past the window, the consumers' inboxes skip it). A batch is published
concurrently and awaited whole; any failure (no stream: the bootstrap did not run) fails the relay pass, which
leaves the rows unsent for the next pass.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError

from ingest.core.nats_bridge import NatsBridge, open_nats
from ingest.core.notification_subjects import MSG_ID, stream_for, subject_for
from lakehouse.settings import Settings


class NotificationError(RuntimeError):
    """A notification could not be stored by JetStream; the message says which and why."""


@dataclass(frozen=True)
class Notification:
    subject: str
    stream: str
    event_id: str
    text: str


def notifications_in(texts: Sequence[str], event_types: frozenset[str]) -> list[Notification]:
    """The envelopes among ``texts`` whose type is in ``event_types``, as JetStream messages."""
    found = []
    for text in texts:
        # Most events are not notifications: a substring test (the type is in the text verbatim) spares parsing them.
        if not any(event_type in text for event_type in event_types):
            continue
        envelope = json.loads(text)
        if envelope["type"] in event_types:
            event_type = envelope["type"]
            found.append(Notification(subject_for(event_type), stream_for(event_type), envelope["event_id"], text))
    return found


def declared_notifications(domain: str) -> frozenset[str]:
    """The notifications of a registered domain's contract (``ingest/<domain>/contract.py``); none without one."""
    module = f"ingest.{domain}.contract"
    try:
        contract = import_module(module).CONTRACT
    except ModuleNotFoundError as error:
        if error.name is not None and module.startswith(error.name):
            return frozenset()  # a domain defined elsewhere (a test's) passes its notifications explicitly
        raise
    return contract.notifications


class NotificationPublisher:
    """Publishes the notification events of envelope batches; returns how many JetStream stored anew."""

    def __init__(self, bridge: NatsBridge, event_types: frozenset[str]) -> None:
        self.bridge = bridge
        self.event_types = event_types

    def __call__(self, texts: Sequence[str]) -> int:
        batch = notifications_in(texts, self.event_types)
        if not batch:
            return 0
        acks = self.bridge.run(_publish_all(self.bridge.jetstream, batch, self.bridge.timeout_s))
        return sum(not ack.duplicate for ack in acks)


@contextmanager
def open_publisher(settings: Settings, domain: str, event_types: frozenset[str]) -> Iterator[NotificationPublisher]:
    with open_nats(settings, f"{domain}-notifications-relay") as bridge:
        yield NotificationPublisher(bridge, event_types)


async def _publish_all(jetstream: JetStreamContext, batch: list[Notification], timeout_s: float) -> list[PubAck]:
    pending = []
    for message in batch:
        headers = {MSG_ID: message.event_id}
        body = message.text.encode()
        pending.append(await jetstream.publish_async(message.subject, body, stream=message.stream, headers=headers))
    try:
        return list(await asyncio.wait_for(asyncio.gather(*pending), timeout_s))
    except NoStreamResponseError as error:
        streams = sorted({message.stream for message in batch})
        raise NotificationError(f"no JetStream stream {', '.join(streams)}: run `lakehouse bootstrap`") from error
