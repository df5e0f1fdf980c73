"""`lakehouse table history|restore`: a Spark-written table's commits, restored by version and by time, read back
by Spark as it was, and the errors a person gets for names, versions and times that do not exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from delta.tables import DeltaTable as SparkDeltaTable

from entrypoints.cli import main
from lakehouse import lake
from lakehouse.settings import Settings
from pipelines.core.engines import compare_engines
from pipelines.core.history import TableError, open_delta, restore_table, table_history, table_location

SCHEMA = "order_id STRING, amount INT"


@pytest.fixture
def orders(spark, tmp_path) -> tuple[Settings, str]:
    """silver/ecommerce_orders with three versions: a write of 3 rows, an append of 2, a MERGE updating one."""
    settings = Settings(lake_root=str(tmp_path / "lake"))
    path = lake.table_path(settings, "silver", "ecommerce_orders")
    spark.createDataFrame([("o1", 10), ("o2", 20), ("o3", 30)], SCHEMA).write.format("delta").save(path)
    spark.createDataFrame([("o4", 40), ("o5", 50)], SCHEMA).write.format("delta").mode("append").save(path)
    change = spark.createDataFrame([("o1", 11)], SCHEMA)
    SparkDeltaTable.forPath(spark, path).alias("t").merge(
        change.alias("c"), "t.order_id = c.order_id"
    ).whenMatchedUpdateAll().execute()
    return settings, path


def rows(spark, path: str) -> list[tuple[str, int]]:
    return sorted(tuple(row) for row in spark.read.format("delta").load(path).collect())


def test_both_names_find_the_table_and_history_is_newest_first(orders):
    settings, path = orders
    assert table_location(settings, "silver/ecommerce_orders") == path
    assert table_location(settings, "ecommerce/silver/orders") == path
    commits = table_history(open_delta(settings, "ecommerce/silver/orders"))
    assert [(c.version, c.operation, c.rows_written) for c in commits] == [
        (2, "MERGE", 1),
        (1, "WRITE", 2),
        (0, "WRITE", 3),
    ]
    assert commits[0].at >= commits[1].at >= commits[2].at
    assert len(table_history(open_delta(settings, "silver/ecommerce_orders"), 1)) == 1


def test_restore_by_version_then_by_time_and_undo(spark, orders):
    settings, path = orders
    latest = rows(spark, path)
    assert latest == [("o1", 11), ("o2", 20), ("o3", 30), ("o4", 40), ("o5", 50)]
    done = restore_table(open_delta(settings, "silver/ecommerce_orders"), version=0)
    assert (done.previous_version, done.target_version, done.new_version) == (2, 0, 3)
    assert rows(spark, path) == [("o1", 10), ("o2", 20), ("o3", 30)]
    assert compare_engines(spark, path).agrees  # an ordinary commit every engine follows

    table = open_delta(settings, "silver/ecommerce_orders")
    second = next(c for c in table_history(table) if c.version == 1)
    done = restore_table(table, moment=second.at + timedelta(milliseconds=1))
    assert done.target_version == 1 and len(rows(spark, path)) == 5
    assert [c.operation for c in table_history(table, 2)] == ["RESTORE", "RESTORE"]

    restore_table(open_delta(settings, "silver/ecommerce_orders"), version=2)  # the undo of the first restore
    assert rows(spark, path) == latest


def test_what_does_not_exist_is_said_plainly(orders):
    settings, _ = orders
    table = open_delta(settings, "silver/ecommerce_orders")
    first = table_history(table)[-1].at
    with pytest.raises(TableError, match="versions 0 to 2"):
        restore_table(table, version=7)
    with pytest.raises(TableError, match="at version 2 already"):
        restore_table(table, version=2)
    with pytest.raises(TableError, match="did not exist at"):
        restore_table(table, moment=first - timedelta(days=1))
    with pytest.raises(TableError, match="no Delta table at"):
        open_delta(settings, "gold/ecommerce_nothing")
    with pytest.raises(TableError, match="unknown layer"):
        table_location(settings, "platinum/orders")
    with pytest.raises(TableError, match="<layer>/<table>"):
        table_location(settings, "orders")


def test_the_commands_print_history_and_restore(spark, orders, monkeypatch, capsys):
    settings, path = orders
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", settings.lake_root)
    assert main(["table", "history", "ecommerce/silver/orders"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("(version 2)")
    assert [line.split()[0] for line in printed[2:]] == ["2", "1", "0"]

    assert main(["table", "restore", "silver/ecommerce_orders", "--version", "1"]) == 0
    assert "now version 3 (was 2" in capsys.readouterr().out
    assert len(rows(spark, path)) == 5 and ("o1", 10) in rows(spark, path)

    assert main(["table", "restore", "silver/ecommerce_orders", "--version", "9"]) == 2
    assert "versions 0 to 3" in capsys.readouterr().err
    assert main(["table", "restore", "ecommerce/bronze/orders", "--version", "0"]) == 2
    assert "read as a stream by its silver flows" in capsys.readouterr().err
