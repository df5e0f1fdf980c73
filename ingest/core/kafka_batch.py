"""Batch reads of a topic on behalf of a consumer group, without joining it.

A batch run (the main job's scorer and writer passes, ``--until-idle``) reads what is on a topic from the group's
committed offsets to the end, commits as the group, and stops. Joining the group for that is a liability: with
kafka-python 3.0 a fresh member is sometimes given no partition and never rebalanced (CI saw the same test wait out
a 120 s join twice in a row; in isolation the join takes 0.2 s), and a batch run cannot wait for a coordinator. So
a batch consumer assigns itself every partition of the topic. Its positions still come from the group's committed
offsets and its commits still move them, so a batch run and a later long-running member see one history. While
another member holds the group, the broker refuses a batch run's commit (``CommitFailedError``): stop that member
first, or batch into another group.
"""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition

METADATA_WAIT_S = 30.0  # a topic the first send auto-creates takes well under a second to show its partitions
METADATA_RETRY_S = 0.25


class TopicNotFound(RuntimeError):
    """The topic has no partitions on the broker (it does not exist, and nothing created it)."""


def assign_whole_topic(consumer: KafkaConsumer, topic: str, *, wait_s: float = METADATA_WAIT_S) -> list[TopicPartition]:
    """Assign ``consumer`` every partition of ``topic``, waiting up to ``wait_s`` for the broker to show them."""
    deadline = time.monotonic() + wait_s
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
            consumer.assign(assigned)
            return assigned
        if time.monotonic() > deadline:
            raise TopicNotFound(f"topic {topic} has no partitions after {wait_s:.0f} s: does it exist?")
        consumer.topics()  # partitions_for_topic only asks the broker when the topic is missing from the cache
        time.sleep(METADATA_RETRY_S)


def caught_up(consumer: KafkaConsumer) -> bool:
    """Whether the consumer's position in every assigned partition has reached that partition's end now."""
    assigned = list(consumer.assignment())
    ends = consumer.end_offsets(assigned)
    return all(consumer.position(partition) >= ends[partition] for partition in assigned)
