"""Pydantic contract → Spark: the schema silver parses a payload with, and the checks pydantic would have made.

A domain's event contract (e.g. ``ingest/ecommerce/contract.py``) is the one source of truth; deriving the Spark
side from it means a new field or constraint reaches silver without anyone keeping two definitions in step.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Money fits comfortably; two decimals is what every currency the platform sells in uses.
MONEY = T.DecimalType(18, 2)
_SCALARS: dict[type, T.DataType] = {
    str: T.StringType(),
    int: T.LongType(),
    float: T.DoubleType(),
    bool: T.BooleanType(),
    Decimal: MONEY,
    datetime: T.TimestampType(),
    date: T.DateType(),
}


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
        raise TypeError(f"unions other than X | None have no Spark type: {annotation}")
    return annotation


def spark_type(annotation: Any) -> T.DataType:
    """The Spark type of a pydantic field annotation (scalars, nested models, lists, optionals)."""
    annotation = _unwrap_optional(annotation)
    if get_origin(annotation) is list:
        (element,) = get_args(annotation)
        return T.ArrayType(spark_type(element))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return spark_schema(annotation)
    if get_origin(annotation) is Literal:
        # A closed set of values travels as its scalar type; `_literal_violations` keeps the set.
        kinds = {type(value) for value in get_args(annotation)}
        if len(kinds) == 1 and (kind := kinds.pop()) in _SCALARS:
            return _SCALARS[kind]
        raise TypeError(f"a Literal needs values of one scalar type to have a Spark type: {annotation!r}")
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    raise TypeError(f"no Spark type for {annotation!r}")


def spark_schema(model: type[BaseModel]) -> T.StructType:
    # Nullable throughout: JSON parsing yields null for a missing field, and the checks below name it.
    return T.StructType([T.StructField(name, spark_type(f.annotation)) for name, f in model.model_fields.items()])


@dataclass(frozen=True)
class Violation:
    """One way a parsed payload can break the contract: ``broken(payload)`` is true when it does."""

    reason: str
    broken: Callable[[Column], Column]


def _constraint_violations(name: str, path: str, metadata: list[Any]) -> list[Violation]:
    found = []
    for rule in metadata:
        for attribute, describe, test in _CONSTRAINTS:
            bound = getattr(rule, attribute, None)
            if bound is not None:
                found.append(Violation(f"{path} {describe} {bound}", _bind(test, name, bound)))
    return found


def _literal_violations(name: str, path: str, annotation: Any) -> list[Violation]:
    annotation = _unwrap_optional(annotation)
    if get_origin(annotation) is not Literal:
        return []
    values = list(get_args(annotation))
    reason = f"{path} must be one of {', '.join(map(str, values))}"
    return [Violation(reason, _bind(lambda c, allowed: c.isNotNull() & ~c.isin(allowed), name, values))]


def _bind(test: Callable[[Column, Any], Column], name: str, bound: Any) -> Callable[[Column], Column]:
    return lambda payload: test(payload[name], bound)


# (pydantic/annotated-types attribute, how the reason reads, what breaks it)
_CONSTRAINTS: tuple[tuple[str, str, Callable[[Column, Any], Column]], ...] = (
    ("gt", "must be greater than", lambda c, b: c <= F.lit(b)),
    ("ge", "must be at least", lambda c, b: c < F.lit(b)),
    ("lt", "must be less than", lambda c, b: c >= F.lit(b)),
    ("le", "must be at most", lambda c, b: c > F.lit(b)),
    ("min_length", "must have a length of at least", lambda c, b: F.length(c) < b),
    ("max_length", "must have a length of at most", lambda c, b: F.length(c) > b),
    ("pattern", "must match", lambda c, b: ~c.rlike(b)),
)


def _nested_violations(name: str, path: str, annotation: Any) -> list[Violation]:
    annotation = _unwrap_optional(annotation)
    if get_origin(annotation) is list:
        (element,) = get_args(annotation)
        element = _unwrap_optional(element)
        if isinstance(element, type) and issubclass(element, BaseModel):
            inner = contract_violations(element, f"{path}[]")
            return [Violation(v.reason, _exists(name, v.broken)) for v in inner]
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        inner = contract_violations(annotation, path)
        return [Violation(v.reason, _inside(name, v.broken)) for v in inner]
    return []


def _exists(name: str, broken: Callable[[Column], Column]) -> Callable[[Column], Column]:
    return lambda payload: F.exists(payload[name], lambda element: F.coalesce(broken(element), F.lit(False)))


def _inside(name: str, broken: Callable[[Column], Column]) -> Callable[[Column], Column]:
    return lambda payload: payload[name].isNotNull() & broken(payload[name])


def contract_violations(model: type[BaseModel], prefix: str = "payload") -> list[Violation]:
    """Every required field and constraint of ``model``, in field order, as checks on the parsed struct."""
    found: list[Violation] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}"
        # Required but nullable (`x: str | None` without a default): the field must be there, but null is a value.
        if field.is_required() and _unwrap_optional(field.annotation) is field.annotation:
            found.append(Violation(f"missing required field {path}", _bind(lambda c, _: c.isNull(), name, None)))
        found += _constraint_violations(name, path, field.metadata)
        found += _literal_violations(name, path, field.annotation)
        found += _nested_violations(name, path, field.annotation)
    return found


def first_violation(payload: Column, violations: list[Violation]) -> Column:
    """The reason of the first violated check, or null when the payload honours the contract."""
    return F.coalesce(*[F.when(v.broken(payload), F.lit(v.reason)) for v in violations], F.lit(None).cast("string"))
