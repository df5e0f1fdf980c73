"""How a Kafka topic is declared (each domain's contract declares its own); the bootstrap creates the missing ones.

Each topic that consumers read has a dead-letter twin ``<topic>.dlq`` for records they cannot process. It
has the same partition count, so a record keeps its partition (and its ordering neighbours) when moved there,
and a longer retention, so someone has time to look at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DLQ_SUFFIX = ".dlq"
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    # Whether a ``<name>.dlq`` topic goes with it.
    dead_letter: bool = True


def dlq_name(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def retained_topic(name: str, partitions: int = 3, retention_days: int = 30) -> TopicSpec:
    """A topic of events that consumers read: deleted after ``retention_days``, with a dead-letter twin."""
    return TopicSpec(
        name, partitions, config={"cleanup.policy": "delete", "retention.ms": str(retention_days * DAY_MS)}
    )


def declared_topics(topics: Iterable[TopicSpec]) -> list[TopicSpec]:
    """The declared topics followed by their dead-letter twins, in declaration order."""
    expanded: list[TopicSpec] = []
    for spec in topics:
        expanded.append(spec)
        if spec.dead_letter:
            expanded.append(
                TopicSpec(
                    dlq_name(spec.name),
                    spec.partitions,
                    dead_letter=False,
                    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
                )
            )
    names = [spec.name for spec in expanded]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Kafka topics declared twice: {', '.join(duplicates)}")
    return expanded
