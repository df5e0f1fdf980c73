"""Kafka: create the declared topics that are missing; existing ones are left as they are.

A topic whose partition count differs from its declaration is reported, not changed: adding partitions moves
keys to other partitions (breaking per-key ordering), and Kafka cannot remove them.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from lakehouse.settings import Settings
from stack.bootstrap.errors import BootstrapError
from stack.bootstrap.kafka_topics import TopicSpec
from stack.bootstrap.report import Progress, Report

STORE = "kafka"


def apply_kafka(
    settings: Settings,
    topics: list[TopicSpec],
    progress: Progress = print,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> list[str]:
    report = Report(STORE, progress)
    specs = topics
    admin = _admin(settings, timeout_s)
    try:
        existing = {topic["name"]: topic for topic in admin.describe_topics()}
        missing = [spec for spec in specs if spec.name not in existing]
        for spec in specs:
            found = existing.get(spec.name)
            if found is not None and len(found["partitions"]) != spec.partitions:
                report(
                    f"{spec.name} has {len(found['partitions'])} partitions, declared {spec.partitions} (left as is)"
                )
        if missing:
            _create(admin, missing, replication_factor, int(timeout_s * 1000))
    except KafkaError as error:
        raise BootstrapError(STORE, f"topic administration failed: {error}") from error
    finally:
        admin.close()
    for spec in missing:
        report(f"created {spec.name} ({spec.partitions} partitions, replication {replication_factor})")
    if not missing:
        report.up_to_date(len(specs), noun="topic")
    return report.lines


def _admin(settings: Settings, timeout_s: float) -> KafkaAdminClient:
    timeout_ms = int(timeout_s * 1000)
    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id="lakehouse-bootstrap",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except KafkaError as error:  # kafka-python 3 raises KafkaTimeoutError when no broker answers
        raise BootstrapError(
            STORE,
            f"cannot connect to {settings.kafka_bootstrap_servers} ({error}); is `lakehouse stack up` done?",
        ) from error


def _create(admin: KafkaAdminClient, specs: list[TopicSpec], replication_factor: int, timeout_ms: int) -> None:
    request: dict[str, dict[str, Any]] = {
        spec.name: {
            "num_partitions": spec.partitions,
            "replication_factor": replication_factor,
            "configs": dict(spec.config),
        }
        for spec in specs
    }
    response = admin.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
    for topic in response["topics"]:
        error = for_code(topic["error_code"])
        # Another bootstrap may have created it between our listing and our request: that is the wanted state.
        if topic["error_code"] != 0 and error is not TopicAlreadyExistsError:
            raise BootstrapError(
                STORE,
                f"creating {topic['name']} failed: {error.__name__} {topic.get('error_message') or ''}".rstrip(),
            )
    # New topics reach the metadata of every broker a little later; callers may produce right after bootstrap.
    admin.wait_for_topics([spec.name for spec in specs], timeout_ms=timeout_ms)
