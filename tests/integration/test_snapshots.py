"""Bronze snapshots of PostgreSQL (incremental over JDBC), MongoDB and Cassandra rows into Delta."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from pymongo import MongoClient
from pyspark.sql import types as T

from pipelines.snapshots import documents_frame, latest_watermark, merge_snapshot, read_postgres_table

pytestmark = pytest.mark.integration


@pytest.fixture
def accounts_table(stack_settings, unique_name):
    table = sql.Identifier("public", unique_name)
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, name text, updated_at timestamptz)").format(table))
        yield f"public.{unique_name}", table
        conn.execute(sql.SQL("DROP TABLE {}").format(table))


def test_postgres_snapshot_is_incremental_and_never_duplicates(stack_settings, spark, tmp_path, accounts_table):
    name, table = accounts_table
    path = str(tmp_path / "bronze_accounts")
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(table)
        conn.execute(insert, (1, "ada", t1))
        conn.execute(insert, (2, "bob", t1))

    first = read_postgres_table(
        spark,
        stack_settings.postgres_url,
        name,
        watermark_column="updated_at",
        after=latest_watermark(spark, path, "updated_at"),
    )
    assert merge_snapshot(spark, first, path, ["id"]) == 2

    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET name = 'bobby', updated_at = %s WHERE id = 2").format(table), (t2,))
        conn.execute(sql.SQL("INSERT INTO {} VALUES (3, 'cy', %s)").format(table), (t2,))

    watermark = latest_watermark(spark, path, "updated_at")
    assert watermark == t1.replace(tzinfo=None)
    second = read_postgres_table(
        spark, stack_settings.postgres_url, name, watermark_column="updated_at", after=watermark
    )
    assert merge_snapshot(spark, second, path, ["id"]) == 2  # only the changed rows travelled
    rows = sorted((r.id, r.name) for r in spark.read.format("delta").load(path).collect())
    assert rows == [(1, "ada"), (2, "bobby"), (3, "cy")]


def test_mongo_documents_snapshot_by_key(stack_settings, spark, tmp_path, unique_name):
    schema = T.StructType(
        [
            T.StructField("_id", T.StringType()),
            T.StructField("sku", T.StringType()),
            T.StructField("price", T.DoubleType()),
        ]
    )
    path = str(tmp_path / "bronze_products")
    with MongoClient(stack_settings.mongo_url) as client:
        collection = client[stack_settings.mongo_database][unique_name]
        collection.insert_many([{"sku": "A-1", "price": 9.5}, {"sku": "B-2", "price": 20.0}])
        merge_snapshot(spark, documents_frame(spark, collection.find(), schema), path, ["_id"])
        collection.update_one({"sku": "A-1"}, {"$set": {"price": 11.0}})
        merge_snapshot(spark, documents_frame(spark, collection.find(), schema), path, ["_id"])
        collection.drop()
    rows = sorted((r.sku, r.price) for r in spark.read.format("delta").load(path).collect())
    assert rows == [("A-1", 11.0), ("B-2", 20.0)]
