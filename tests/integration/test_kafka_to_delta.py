"""Spark reads a real Kafka topic with spark-sql-kafka into Delta, exactly once across re-runs."""

from __future__ import annotations

import json

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from smoke_events import publish, smoke_events

from pipelines.core.bronze import stream_topic_to_delta

pytestmark = pytest.mark.integration


def test_topic_lands_in_delta_once_even_when_rerun(stack_settings, spark, tmp_path, unique_name):
    servers = stack_settings.kafka_bootstrap_servers
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
    admin.close()
    table, checkpoint = str(tmp_path / "bronze"), str(tmp_path / "checkpoint")

    assert publish(servers, unique_name, smoke_events(40, "first")) == 40
    stream_topic_to_delta(
        spark, bootstrap_servers=servers, topic=unique_name, table_path=table, checkpoint_path=checkpoint
    )
    stream_topic_to_delta(
        spark, bootstrap_servers=servers, topic=unique_name, table_path=table, checkpoint_path=checkpoint
    )
    assert spark.read.format("delta").load(table).count() == 40

    assert publish(servers, unique_name, smoke_events(15, "second")) == 15
    stream_topic_to_delta(
        spark, bootstrap_servers=servers, topic=unique_name, table_path=table, checkpoint_path=checkpoint
    )
    rows = spark.read.format("delta").load(table).collect()
    payloads = sorted(
        (json.loads(r.value)["payload"]["run_id"], json.loads(r.value)["payload"]["sequence"]) for r in rows
    )
    assert payloads == sorted([("first", i) for i in range(40)] + [("second", i) for i in range(15)])
    assert {r.topic for r in rows} == {unique_name}
    assert len({(r.partition, r.offset) for r in rows}) == 55
