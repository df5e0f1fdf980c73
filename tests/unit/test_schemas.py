"""The pydantic → Spark bridge: types, nesting, and the contract's constraints as checks on parsed rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingest.ecommerce.contract import OrderPlacedV1
from pipelines.core.schemas import contract_violations, first_violation, spark_schema, spark_type


class Inner(BaseModel):
    code: str = Field(pattern=r"^[A-Z]{3}$")
    count: int = Field(gt=0)


class Outer(BaseModel):
    name: str
    amount: Decimal = Field(ge=0)
    at: datetime
    inner: Inner
    items: list[Inner]
    tags: list[str]
    note: str | None = None


def test_scalar_and_nested_types():
    assert spark_schema(Outer) == T.StructType(
        [
            T.StructField("name", T.StringType()),
            T.StructField("amount", T.DecimalType(18, 2)),
            T.StructField("at", T.TimestampType()),
            T.StructField(
                "inner", T.StructType([T.StructField("code", T.StringType()), T.StructField("count", T.LongType())])
            ),
            T.StructField(
                "items",
                T.ArrayType(
                    T.StructType([T.StructField("code", T.StringType()), T.StructField("count", T.LongType())])
                ),
            ),
            T.StructField("tags", T.ArrayType(T.StringType())),
            T.StructField("note", T.StringType()),
        ]
    )


def test_unsupported_annotation_is_named():
    with pytest.raises(TypeError, match="no Spark type"):
        spark_type(bytes)


def test_order_contract_lines_are_an_array_of_structs():
    lines = spark_schema(OrderPlacedV1)["lines"].dataType
    assert isinstance(lines, T.ArrayType)
    assert [f.name for f in lines.elementType.fields] == ["product_id", "category", "quantity", "unit_price"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            '{"name":"a","amount":"1.00","at":"2026-01-01T00:00:00Z","inner":{"code":"EUR","count":1},"items":[],"tags":[]}',
            None,
        ),
        (
            '{"amount":"1.00","at":"2026-01-01T00:00:00Z","inner":{"code":"EUR","count":1},"items":[],"tags":[]}',
            "missing required field payload.name",
        ),
        (
            '{"name":"a","amount":"-1","at":"2026-01-01T00:00:00Z","inner":{"code":"EUR","count":1},"items":[],"tags":[]}',
            "payload.amount must be at least 0",
        ),
        (
            '{"name":"a","amount":"1","at":"2026-01-01T00:00:00Z","inner":{"code":"eu","count":1},"items":[],"tags":[]}',
            "payload.inner.code must match ^[A-Z]{3}$",
        ),
        (
            '{"name":"a","amount":"1","at":"2026-01-01T00:00:00Z","inner":{"code":"EUR","count":1},"items":[{"code":"USD","count":0}],"tags":[]}',
            "payload.items[].count must be greater than 0",
        ),
        (
            '{"name":"a","amount":"1","at":"2026-01-01T00:00:00Z","inner":{"code":"EUR","count":1},"items":[{"code":"USD"}],"tags":[]}',
            "missing required field payload.items[].count",
        ),
    ],
)
def test_first_violation_names_the_broken_field(spark, payload, reason):
    frame = spark.createDataFrame([(payload,)], "payload string")
    checked = frame.select(first_violation(F.from_json("payload", spark_schema(Outer)), contract_violations(Outer)))
    assert checked.first()[0] == reason


class Status(BaseModel):
    status: Literal["open", "closed"]
    level: Literal[1, 2] | None = None
    previous: str | None  # required by pydantic, yet null is a valid value


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"status":"open","previous":null}', None),
        ('{"status":"closed","level":2,"previous":"open"}', None),
        ('{"status":"gone"}', "payload.status must be one of open, closed"),
        ('{"status":"open","level":3}', "payload.level must be one of 1, 2"),
        ('{"level":1}', "missing required field payload.status"),
    ],
)
def test_a_closed_set_of_values_is_its_scalar_type_and_a_check(spark, payload, reason):
    assert spark_schema(Status) == T.StructType(
        [
            T.StructField("status", T.StringType()),
            T.StructField("level", T.LongType()),
            T.StructField("previous", T.StringType()),
        ]
    )
    frame = spark.createDataFrame([(payload,)], "payload string")
    checked = frame.select(first_violation(F.from_json("payload", spark_schema(Status)), contract_violations(Status)))
    assert checked.first()[0] == reason


def test_a_literal_mixing_types_is_refused():
    with pytest.raises(TypeError, match="one scalar type"):
        spark_type(Literal["a", 1])
