"""Cassandra round trip on the real local node: rows written to a fresh table read back unchanged."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from cassandra import ProtocolVersion
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy

from lakehouse.settings import Settings

pytestmark = pytest.mark.integration

KEYSPACE = "lakehouse_test"


def test_rows_written_to_a_new_table_read_back(stack_settings: Settings, unique_name: str) -> None:
    host, port = stack_settings.address("cassandra")
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=30)
    cluster = Cluster(
        contact_points=[host],
        port=port,
        protocol_version=ProtocolVersion.V5,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=10,
    )
    expected = {
        uuid.UUID(int=number): (
            f"customer-{number}",
            Decimal(f"{number}.25"),
            dt.datetime(2024, 1, 1 + number, 12, 30, tzinfo=dt.UTC),
        )
        for number in range(1, 21)
    }
    try:
        session = cluster.connect()
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        table = f"{KEYSPACE}.{unique_name}"
        session.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, name text, amount decimal, at timestamp)")
        insert = session.prepare(f"INSERT INTO {table} (id, name, amount, at) VALUES (?, ?, ?, ?)")
        for key, (name, amount, at) in expected.items():
            session.execute(insert, (key, name, amount, at))

        rows = list(session.execute(f"SELECT id, name, amount, at FROM {table}"))
        # The driver returns naive UTC datetimes for timestamps.
        actual = {row.id: (row.name, row.amount, row.at.replace(tzinfo=dt.UTC)) for row in rows}
        assert len(rows) == len(expected)
        assert actual == expected
        session.execute(f"DROP TABLE {table}")
    finally:
        cluster.shutdown()
