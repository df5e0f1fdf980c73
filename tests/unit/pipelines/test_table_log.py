"""delta-rs's reading of a Spark-written log gives what Spark's own queries give: the table's id, its latest
version, the last commit's metadata and metrics, and whether any data file is left (also after a checkpoint, and
after every row is deleted)."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import types as T

from pipelines.core import table_log

SCHEMA = T.StructType([T.StructField("id", T.LongType()), T.StructField("day", T.StringType())])


def _spark_view(spark, path: str) -> tuple[str, int, str | None, dict[str, str], bool]:
    table = DeltaTable.forPath(spark, path)
    detail = table.detail().first()
    last = table.history(1).first()
    return detail.id, last.version, last.userMetadata, dict(last.operationMetrics or {}), detail.numFiles == 0


def _log_view(path: str) -> tuple[str, int, str | None, dict[str, str], bool]:
    last = table_log.last_commit(path)
    metrics = {key: str(value) for key, value in (last.get("operationMetrics") or {}).items()}
    table_id, version = table_log.id_and_version(path)
    assert table_log.latest_version(path) == version
    return table_id, version, last.get("userMetadata"), metrics, table_log.has_no_files(path)


def test_the_log_read_by_delta_rs_answers_as_spark_does(spark, tmp_path) -> None:
    path = str(tmp_path / "t")
    # A checkpoint every two commits (Spark's default is ten): delta-rs must read it instead of the JSON before it.
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(SCHEMA)
    builder.property("delta.checkpointInterval", "2").execute()
    views = [(_spark_view(spark, path), _log_view(path))]
    assert views[0][1][1] == 0 and views[0][1][4]  # created empty: version 0, no file
    rows = spark.createDataFrame([(n, f"2026-03-0{n % 3 + 1}") for n in range(30)], SCHEMA)
    for number in range(4):
        writer = rows.write.format("delta").mode("overwrite" if number == 2 else "append")
        writer.option("userMetadata", f"write {number}").save(path)
        views.append((_spark_view(spark, path), _log_view(path)))
    spark.sql(f"DELETE FROM delta.`{path}`")
    views.append((_spark_view(spark, path), _log_view(path)))
    assert [spark_says for spark_says, _ in views] == [log_says for _, log_says in views]
    last = views[-1][1]
    assert last[1] == 5 and last[4]  # every row deleted: no file left
    assert views[-2][1][2] == "write 3" and views[-2][1][3]["numOutputRows"] == "30"
    assert (tmp_path / "t" / "_delta_log" / "00000000000000000004.checkpoint.parquet").exists()
