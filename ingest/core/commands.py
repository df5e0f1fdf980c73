"""The base of every domain's command models: what a client sends is read as the JSON types its OpenAPI names.

Pydantic's lax mode turns ``0`` into 1970-01-01 and ``false`` into ``0``; a client sending those has a bug, and
storing a made-up date or number would hide it (the fuzzing test found both). So a number where a date-time is
declared, and true/false where a number is, are refused with a 422 naming the field. ISO strings for dates and
strings for decimals (``"12.50"``, so no float rounding) stay accepted, as the OpenAPI says.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

NUMBERS = (int, float, Decimal)


def _kinds(annotation: object) -> set[object]:
    """The plain types an annotation admits (through Optional, unions and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(arg) for arg in typing.get_args(annotation)))
    return {annotation}


class JsonTyped(BaseModel):
    """A request model whose fields take only the JSON types the OpenAPI names for them."""

    @model_validator(mode="before")
    @classmethod
    def _as_json_types(cls, data: Any) -> Any:  # noqa: ANN401 - whatever the client sent
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key not in data:
                continue
            value, kinds = data[key], _kinds(field.annotation)
            if isinstance(value, bool) and bool not in kinds and kinds & set(NUMBERS):
                raise ValueError(f"{key}: a number is expected, not {str(value).lower()}")
            if isinstance(value, int | float) and kinds & {datetime, date} and not kinds & set(NUMBERS):
                raise ValueError(f"{key}: an ISO 8601 date-time string is expected, not the number {value}")
        return data


class Command(JsonTyped):
    model_config = ConfigDict(extra="forbid", frozen=True)
