"""The session factory: generated code off unless the settings ask for it, and the same answers either way."""

from __future__ import annotations

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.settings import Settings
from lakehouse.spark import GENERATED, INTERPRETED, generated_code, spark_session


def test_the_session_interprets_expressions_unless_codegen_is_set(spark: SparkSession, settings: Settings) -> None:
    assert not settings.spark_codegen
    assert {key: spark.conf.get(key) for key in INTERPRETED} == INTERPRETED
    assert spark_session(settings) is spark  # one session per process: the tests see what production runs


def test_interpreted_and_generated_code_answer_alike(spark: SparkSession) -> None:
    events = spark.createDataFrame(
        [(f'{{"id": "e{i % 7}", "amount": {i * 1.5}, "tags": ["a", "b{i % 3}"]}}', i % 3) for i in range(60)],
        "value string, partition int",
    )
    parsed = events.select(
        F.from_json("value", "id string, amount double, tags array<string>").alias("e"), "partition"
    ).select("e.*", "partition")
    latest = Window.partitionBy("id").orderBy(F.desc("amount"))
    query = (
        parsed.withColumn("rank", F.row_number().over(latest))
        .filter("rank <= 2")
        .groupBy("id", "partition")
        .agg(F.sum("amount").alias("amount"), F.collect_set(F.element_at("tags", 2)).alias("tags"))
        .select("id", "partition", "amount", F.array_sort("tags").alias("tags"))
    )
    answers = {}
    try:
        for mode in ("interpreted", "generated"):
            if mode == "generated":
                spark.conf.set("spark.sql.codegen.wholeStage", "true")
                spark.conf.set("spark.sql.codegen.factoryMode", "FALLBACK")
            answers[mode] = sorted(tuple(row) for row in query.collect())
    finally:
        for key, value in INTERPRETED.items():
            spark.conf.set(key, value)
    assert answers["interpreted"] == answers["generated"] and len(answers["generated"]) > 7


def test_generated_code_is_on_inside_and_the_settings_return_after_even_on_error(spark: SparkSession) -> None:
    def current() -> dict[str, str]:
        return {key: spark.conf.get(key) for key in GENERATED}

    with generated_code(spark):
        assert current() == GENERATED
    assert current() == INTERPRETED
    try:
        with generated_code(spark):
            raise RuntimeError("a failed MERGE")
    except RuntimeError:
        pass
    assert current() == INTERPRETED
