"""A domain's event contract: one pydantic model per (event type, version), the topic each goes to, and where
the domain's storage migrations live.

Producers validate against the models before an event enters the outbox; the silver pipeline parses bronze
payloads with Spark schemas derived from the same models, so a change to a contract is a change everywhere. A
breaking change is a new version (a new model registered under the same type), never an edit of a published one.
The contract is also what the bootstrap reads: the domain's Kafka topics and its migration folders, and the
JetStream stream of the events it also publishes as NATS notifications to other domains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from stack.bootstrap.kafka_topics import TopicSpec
from stack.bootstrap.nats_streams import domain_stream
from stack.bootstrap.plan import StorageDeclaration

EventKey = tuple[str, int]  # (event type, version)


class EventPayload(BaseModel):
    """The base of every event payload: unknown fields are refused, and a payload never changes once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class DomainContract:
    """What a domain promises the rest of the platform.

    ``name`` is the domain's PostgreSQL schema, its topics' prefix, its lake tables' prefix and its Dagster group.
    ``events`` maps (type, version) to (payload model, topic); ``topics`` declares every topic with its
    partitions and retention (a dead-letter twin goes with each); ``migrations`` holds ``postgres/``,
    ``cassandra/`` and ``mongo/`` folders, versioned per domain. ``notifications`` are the event types the kit's
    relay also publishes to NATS JetStream (subject ``lakehouse.<event type>``) for other domains to act on.
    ``scopes`` are what the domain's app routes require of an API key (``ingest/core/auth.py``).
    """

    name: str
    events: Mapping[EventKey, tuple[type[EventPayload], str]]
    topics: tuple[TopicSpec, ...]
    migrations: Path
    # Entity name -> topic, in the order bronze tables are listed: ``bronze/<name>_<entity>`` lands one topic.
    entities: Mapping[str, str] = field(default_factory=dict)
    # Event types also published to NATS; each must be one of ``events`` and named ``<name>.<...>``.
    notifications: frozenset[str] = frozenset()
    # What an API key of this domain's app may be granted: scope name -> what it allows (`lakehouse keys`).
    scopes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = {spec.name for spec in self.topics}
        undeclared = sorted({topic for _, topic in self.events.values()} - declared)
        if undeclared:
            raise ValueError(f"{self.name}: events go to undeclared topic(s) {', '.join(undeclared)}")
        strangers = sorted(topic for topic in declared if not topic.startswith(f"{self.name}."))
        if strangers:
            raise ValueError(f"{self.name}: topics must start with '{self.name}.': {', '.join(strangers)}")
        self._check_notifications()

    def _check_notifications(self) -> None:
        unknown = sorted(self.notifications - {event_type for event_type, _ in self.events})
        if unknown:
            raise ValueError(f"{self.name}: notifications name undeclared event type(s) {', '.join(unknown)}")
        # The subject is ``lakehouse.<event type>``: it must fall in this domain's stream, ``lakehouse.<name>.>``.
        strangers = sorted(t for t in self.notifications if not t.startswith(f"{self.name}."))
        if strangers:
            listed = ", ".join(strangers)
            raise ValueError(f"{self.name}: notified event types must start with '{self.name}.': {listed}")

    def schema_for(self, event_type: str, version: int) -> type[EventPayload]:
        try:
            return self.events[(event_type, version)][0]
        except KeyError:
            known = sorted({f"{t} v{v}" for t, v in self.events})
            raise KeyError(f"unknown event {event_type} v{version}; known: {', '.join(known)}") from None

    def topic_for(self, event_type: str, version: int) -> str:
        self.schema_for(event_type, version)  # the same clear error for an unknown event
        return self.events[(event_type, version)][1]

    def events_on(self, topic: str) -> dict[EventKey, type[EventPayload]]:
        """Every (type, version) published to ``topic`` and its payload model: what a consumer of it must parse."""
        return {key: model for key, (model, on_topic) in self.events.items() if on_topic == topic}

    @property
    def storage(self) -> StorageDeclaration:
        """What the bootstrap creates for this domain: its migrations (per store), its topics and, when it
        publishes notifications, its JetStream stream."""
        streams = (domain_stream(self.name),) if self.notifications else ()
        return StorageDeclaration(self.name, self.migrations, self.topics, streams)
