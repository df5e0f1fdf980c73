"""`lakehouse bootstrap` against the real stores: idempotent, versioned, and loud about edited migrations.

The packaged migrations are applied to the real databases (that is what bootstrap is for); the versioning
machinery is exercised on throwaway migration folders in uniquely named schemas, keyspaces and databases.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import psycopg
import pytest
from cassandra.cluster import Cluster
from kafka import KafkaAdminClient
from psycopg import sql
from pymongo import MongoClient

from ingest.core.storage import KIT_STORAGE
from ingest.domains import storage_declarations
from lakehouse.settings import Settings, host_port
from stack.bootstrap import BootstrapError, MigrationError, apply_all
from stack.bootstrap.cassandra import apply_cassandra
from stack.bootstrap.kafka import apply_kafka
from stack.bootstrap.kafka_topics import TopicSpec, declared_topics
from stack.bootstrap.mongo import apply_mongo
from stack.bootstrap.postgres import apply_postgres

pytestmark = pytest.mark.integration

UP_TO_DATE = re.compile(
    r"^(postgres|cassandra|mongo|kafka|nats)( [a-z]+)?: up to date \(\d+ (migration|topic|stream)s?\)$"
)


def quiet(_line: str) -> None:
    """Progress sink for runs whose lines the test reads from the return value."""


def cassandra_cluster(settings: Settings) -> Cluster:
    return Cluster(contact_points=[host_port(settings.cassandra_contact_points, 9042)])


def test_second_bootstrap_applies_nothing(stack_settings: Settings) -> None:
    apply_all(stack_settings, storage_declarations(), progress=quiet)  # applies whatever an earlier run has not
    second = apply_all(stack_settings, storage_declarations(), progress=quiet)
    # Store by store, every declaration that has that store reports once (the kit first), then Kafka topics and
    # NATS streams overall.
    prefixes = [
        f"{store} {declaration.domain}"
        for store in ("postgres", "cassandra", "mongo")
        for declaration in storage_declarations()
        if declaration.folder(store) is not None
    ]
    assert [line.split(":")[0] for line in second] == [*prefixes, "kafka", "nats"]
    assert all(UP_TO_DATE.match(line) for line in second), second


def test_bootstrap_leaves_the_declared_objects(stack_settings: Settings) -> None:
    apply_all(stack_settings, storage_declarations(), progress=quiet)
    with psycopg.connect(stack_settings.postgres_url, connect_timeout=10) as conn:
        schemas = {row[0] for row in conn.execute("SELECT schema_name FROM information_schema.schemata")}
        applied = conn.execute(
            "SELECT domain, name FROM lakehouse_meta.domain_migrations WHERE version = 1 ORDER BY domain"
        ).fetchall()
        outbox = conn.execute("SELECT to_regclass('ecommerce.outbox') IS NOT NULL").fetchone()[0]
    assert {"ecommerce", "lakehouse_kit", "lakehouse_meta"} <= schemas
    # Each domain numbers its own migrations: both start at 0001.
    assert ("ecommerce", "ecommerce") in applied and ("kit", "audit_and_outbox") in applied
    assert outbox

    cluster = cassandra_cluster(stack_settings)
    try:
        session = cluster.connect()
        tables = session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
            (stack_settings.cassandra_keyspace,),
        )
        assert {"domain_migrations", "orders_by_customer"} <= {row.table_name for row in tables}
    finally:
        cluster.shutdown()

    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        db = client[stack_settings.mongo_database]
        assert {"catalog_products", "domain_migrations"} <= set(db.list_collection_names())
        sku_index = db["catalog_products"].index_information()["sku_unique"]
        assert sku_index["key"] == [("sku", 1)] and sku_index["unique"] is True
        assert db["domain_migrations"].find_one({"_id": "ecommerce:0001"})["name"] == "catalog_products"

    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    try:
        topics = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
    finally:
        admin.close()
    assert topics["ecommerce.orders"] == 3
    assert topics["ecommerce.orders.dlq"] == 3


def test_postgres_versions_and_locks(stack_settings: Settings, unique_name: str, tmp_path: Path) -> None:
    meta = f"{unique_name}_meta"
    (tmp_path / "0001_make_schema.sql").write_text(f"CREATE SCHEMA {unique_name};\nSELECT pg_sleep(0.5);\n")
    results: list[list[str]] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            results.append(apply_postgres(stack_settings, tmp_path, "t", quiet, meta_schema=meta))
        except Exception as error:  # re-raised in the test thread below
            errors.append(error)

    try:
        # Two bootstraps at once: without the lock both would run CREATE SCHEMA and one would fail.
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        lines = sorted(line for result in results for line in result if "waiting" not in line)
        assert lines == ["postgres t: applied 0001_make_schema", "postgres t: up to date (1 migration)"]

        (tmp_path / "0002_table.sql").write_text(f"CREATE TABLE {unique_name}.t (id int);\n")
        assert apply_postgres(stack_settings, tmp_path, "t", quiet, meta_schema=meta) == [
            "postgres t: applied 0002_table"
        ]

        (tmp_path / "0001_make_schema.sql").write_text(f"CREATE SCHEMA {unique_name}; -- edited\n")
        with pytest.raises(MigrationError, match="0001_make_schema.sql was changed"):
            apply_postgres(stack_settings, tmp_path, "t", quiet, meta_schema=meta)
    finally:
        with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
            for schema in (unique_name, meta):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_each_domain_numbers_its_own_migrations(stack_settings: Settings, unique_name: str, tmp_path: Path) -> None:
    meta = f"{unique_name}_meta"
    for domain in ("a", "b"):
        (tmp_path / domain).mkdir()
        (tmp_path / domain / "0001_schema.sql").write_text(f"CREATE SCHEMA {unique_name}_{domain};\n")
    try:
        for domain in ("a", "b"):
            lines = apply_postgres(stack_settings, tmp_path / domain, domain, quiet, meta_schema=meta)
            assert lines == [f"postgres {domain}: applied 0001_schema"]
        assert apply_postgres(stack_settings, tmp_path / "a", "a", quiet, meta_schema=meta) == [
            "postgres a: up to date (1 migration)"
        ]
    finally:
        with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
            for schema in (f"{unique_name}_a", f"{unique_name}_b", meta):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_failed_postgres_migration_rolls_back(stack_settings: Settings, unique_name: str, tmp_path: Path) -> None:
    meta = f"{unique_name}_meta"
    (tmp_path / "0001_half.sql").write_text(f"CREATE SCHEMA {unique_name};\nSELECT no_such_function();\n")
    try:
        with pytest.raises(BootstrapError, match="0001_half.sql failed and was rolled back"):
            apply_postgres(stack_settings, tmp_path, "t", quiet, meta_schema=meta)
        with psycopg.connect(stack_settings.postgres_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (unique_name,)
            ).fetchone() == (0,)
            assert conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(meta, "domain_migrations"))
            ).fetchone() == (0,)
    finally:
        with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
            for schema in (unique_name, meta):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_cassandra_versions(stack_settings: Settings, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "0001_readings.cql").write_text(
        "-- wide rows; one partition per device\n"
        "CREATE TABLE IF NOT EXISTS readings (device text, at timestamp, value double, "
        "PRIMARY KEY (device, at));\nINSERT INTO readings (device, at, value) VALUES ('d;1', 0, 1.5);\n"
    )
    cluster = cassandra_cluster(stack_settings)
    try:
        first = apply_cassandra(stack_settings, tmp_path, "t", quiet, keyspace=unique_name)
        assert first[0].startswith(f"cassandra t: created keyspace {unique_name} with replication")
        assert first[1:] == ["cassandra t: applied 0001_readings"]
        assert apply_cassandra(stack_settings, tmp_path, "t", quiet, keyspace=unique_name) == [
            "cassandra t: up to date (1 migration)"
        ]
        session = cluster.connect(unique_name)
        assert [tuple(row) for row in session.execute("SELECT device, value FROM readings")] == [("d;1", 1.5)]
        replication = (
            session.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (unique_name,))
            .one()
            .replication
        )
        assert replication["class"].endswith("SimpleStrategy") and replication["replication_factor"] == "1"

        (tmp_path / "0001_readings.cql").write_text("CREATE TABLE IF NOT EXISTS readings (k int);\n")
        with pytest.raises(MigrationError, match="0001_readings.cql was changed"):
            apply_cassandra(stack_settings, tmp_path, "t", quiet, keyspace=unique_name)
    finally:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {unique_name}")
        cluster.shutdown()


def test_mongo_versions(stack_settings: Settings, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "0001_orders.json").write_text(
        '{"commands": [{"create": "orders"}, {"createIndexes": "orders", '
        '"indexes": [{"key": {"order_id": 1}, "name": "order_id_unique", "unique": true}]}]}'
    )
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        try:
            assert apply_mongo(stack_settings, tmp_path, "t", quiet, database=unique_name) == [
                "mongo t: applied 0001_orders"
            ]
            assert apply_mongo(stack_settings, tmp_path, "t", quiet, database=unique_name) == [
                "mongo t: up to date (1 migration)"
            ]
            assert client[unique_name]["orders"].index_information()["order_id_unique"]["unique"] is True

            (tmp_path / "0002_broken.json").write_text('{"commands": {"create": "not a list"}}')
            with pytest.raises(MigrationError, match='0002_broken.json needs a "commands" list'):
                apply_mongo(stack_settings, tmp_path, "t", quiet, database=unique_name)
        finally:
            client.drop_database(unique_name)


def test_kafka_creates_missing_and_reports_drift(stack_settings: Settings, unique_name: str) -> None:
    topics = declared_topics((TopicSpec(unique_name, partitions=2),))
    try:
        assert apply_kafka(stack_settings, topics, quiet) == [
            f"kafka: created {unique_name} (2 partitions, replication 1)",
            f"kafka: created {unique_name}.dlq (2 partitions, replication 1)",
        ]
        assert apply_kafka(stack_settings, topics, quiet) == ["kafka: up to date (2 topics)"]
        drifted = [TopicSpec(unique_name, partitions=4, dead_letter=False)]
        assert apply_kafka(stack_settings, drifted, quiet) == [
            f"kafka: {unique_name} has 2 partitions, declared 4 (left as is)",
            "kafka: up to date (1 topic)",
        ]
    finally:
        admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
        try:
            admin.delete_topics([unique_name, f"{unique_name}.dlq"], raise_errors=False)
        finally:
            admin.close()


def test_unreachable_stores_are_named(settings: Settings, tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, so each connect fails fast.
    dead = settings.model_copy(
        update={
            "postgres_url": "postgresql://lakehouse@127.0.0.1:1/lakehouse",
            "mongo_url": "mongodb://127.0.0.1:1/",
            "cassandra_contact_points": "127.0.0.1:1",
            "kafka_bootstrap_servers": "127.0.0.1:1",
        }
    )
    with pytest.raises(BootstrapError, match=r"^postgres: cannot connect to 127\.0\.0\.1:1"):
        apply_postgres(dead, KIT_STORAGE.migrations / "postgres", "kit", quiet)
    with pytest.raises(BootstrapError, match=r"^mongo: cannot connect to 127\.0\.0\.1:1"):
        apply_mongo(dead, tmp_path, "t", quiet, timeout_s=1)
    with pytest.raises(BootstrapError, match=r"^cassandra: cannot connect to 127\.0\.0\.1:1"):
        apply_cassandra(dead, tmp_path, "t", quiet, timeout_s=2)
    with pytest.raises(BootstrapError, match=r"^kafka: cannot connect to 127\.0\.0\.1:1"):
        apply_kafka(dead, [], quiet, timeout_s=2)
