"""The badges contract: two event types on one topic, and where the domain's migrations live."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from ingest.core.contract import DomainContract, EventPayload
from stack.bootstrap.kafka_topics import TopicSpec

DOMAIN = "kitdemo"
ISSUED = ("kitdemo.badge.issued", 1)
REVOKED = ("kitdemo.badge.revoked", 1)


class BadgeIssuedV1(EventPayload):
    badge_id: str
    holder: str = Field(min_length=1)
    issued_at: datetime


class BadgeRevokedV1(EventPayload):
    badge_id: str
    reason: str
    revoked_at: datetime


def badges_contract(run: str) -> DomainContract:
    topic = f"{DOMAIN}.{run}.badges"
    return DomainContract(
        name=DOMAIN,
        events={ISSUED: (BadgeIssuedV1, topic), REVOKED: (BadgeRevokedV1, topic)},
        topics=(TopicSpec(topic, partitions=2),),
        migrations=Path(__file__).with_name("migrations"),
        entities={"badges": topic},
    )
