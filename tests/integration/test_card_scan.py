"""The card-number scan on the real stack: it finds a number in a PostgreSQL row, a Kafka record and a Delta table,
and nothing in what the app stores, publishes and lands for an order (its token, last four digits and brand)."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql

from entrypoints.card_scan import masked, scan_postgres, scan_tables, scan_topics
from ingest.core.cards import protect_card

pytestmark = pytest.mark.integration

NUMBER = "4111111111111111"


def test_the_scan_finds_a_number_in_each_store_and_none_in_tokens(stack_settings, spark, unique_name, tmp_path):
    import psycopg

    token = protect_card(NUMBER, stack_settings.card_token_key)
    schema = sql.Identifier(unique_name)
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        try:
            conn.execute(sql.SQL("CREATE TABLE {}.clear (note text)").format(schema))
            conn.execute(sql.SQL("CREATE TABLE {}.tokens (token text, last4 text)").format(schema))
            conn.execute(sql.SQL("INSERT INTO {}.clear VALUES (%s)").format(schema), (f"card {NUMBER} on file",))
            conn.execute(sql.SQL("INSERT INTO {}.tokens VALUES (%s, %s)").format(schema), (token.token, token.last4))
            found = {f.where: f for f in scan_postgres(stack_settings, [unique_name])}
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))
    assert list(found) == [f"postgres {unique_name}.clear"]
    assert found[f"postgres {unique_name}.clear"].example == masked(NUMBER) == "411111******1111"

    clear_topic, token_topic = f"{unique_name}.clear", f"{unique_name}.tokens"
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in (clear_topic, token_topic)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=stack_settings.kafka_bootstrap_servers, acks="all")
    for n in range(20):
        producer.send(token_topic, key=f"o{n}".encode(), value=f'{{"card_token": "{token.token}"}}'.encode())
        producer.send(clear_topic, key=f"o{n}".encode(), value=f'{{"card_number": "{NUMBER}"}}'.encode())
    producer.flush()
    producer.close()
    findings = list(scan_topics(stack_settings, [clear_topic, token_topic]))
    assert [(f.where, f.numbers) for f in findings] == [(f"kafka {clear_topic}", 20)]

    clear_table, token_table = str(tmp_path / "clear"), str(tmp_path / "tokens")
    schema_ddl = "order_id STRING, card STRUCT<number: STRING>, amount DOUBLE"
    spark.createDataFrame([("o1", (NUMBER,), 1.5)], schema_ddl).write.format("delta").save(clear_table)
    spark.createDataFrame([("o1", (token.token,), 1.5)], schema_ddl).write.format("delta").save(token_table)
    assert [f.where for f in scan_tables([clear_table, token_table])] == [f"delta {clear_table}"]
