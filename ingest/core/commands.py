"""The base of every domain's command models: what a client sends is read as the JSON types its OpenAPI names.

Pydantic's lax mode turns ``0`` into 1970-01-01 and ``false`` into ``0``; a client sending those has a bug, and
storing a made-up date or number would hide it (the fuzzing test found both). So a number where a date-time is
declared, and true/false where a number is, are refused with a 422 naming the field. ISO strings for dates and
strings for decimals (``"12.50"``, so no float rounding) stay accepted, as the OpenAPI says.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _strict_fields(model: type[BaseModel]) -> tuple[tuple[str, bool, bool], ...]:
    """Per field of ``model`` that refuses a JSON type pydantic would coerce: its key, whether true/false is
    refused (a number field), whether a number is (a date or date-time field). Worked out once per model: walking
    the annotations on every validation was a fifth of the bulk import's Python time."""
    strict = []
    for name, field in model.model_fields.items():
        kinds = _kinds(field.annotation)
        numbers, dates = bool(kinds & set(NUMBERS)), bool(kinds & {datetime, date})
        no_bool, no_number = numbers and bool not in kinds, dates and not numbers
        if no_bool or no_number:
            strict.append((field.alias or name, no_bool, no_number))
    return tuple(strict)


class JsonTyped(BaseModel):
    """A request model whose fields take only the JSON types the OpenAPI names for them."""

    @model_validator(mode="before")
    @classmethod
    def _as_json_types(cls, data: Any) -> Any:  # noqa: ANN401 - whatever the client sent
        if not isinstance(data, dict):
            return data
        for key, no_bool, no_number in _strict_fields(cls):
            if key not in data:
                continue
            value = data[key]
            if no_bool and isinstance(value, bool):
                raise ValueError(f"{key}: a number is expected, not {str(value).lower()}")
            if no_number and isinstance(value, int | float):
                raise ValueError(f"{key}: an ISO 8601 date-time string is expected, not the number {value}")
        return data


class Command(JsonTyped):
    model_config = ConfigDict(extra="forbid", frozen=True)
