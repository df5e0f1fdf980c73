"""The kit's bulk helpers that need no database: COPY text and envelope text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingest.core.bulk import copy_line, copy_value, envelope_text
from ingest.core.envelope import EventEnvelope


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        ("plain", "plain"),
        ("tab\there", "tab\\there"),
        ("line\nbreak\r", "line\\nbreak\\r"),
        ('{"a":"back\\\\slash"}', '{"a":"back\\\\\\\\slash"}'),
        (7, "7"),
        (Decimal("12.50"), "12.50"),
        (True, "t"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
    ],
)
def test_copy_value_writes_copy_text_format(value: object, text: str) -> None:
    assert copy_value(value) == text


def test_copy_line_is_tab_separated_and_ends_the_line() -> None:
    assert copy_line(["a", None, 3]) == "a\t\\N\t3\n"


def test_copy_value_refuses_a_type_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="float"):
        copy_value(1.5)


def test_envelope_text_is_exactly_the_envelope_json() -> None:
    payload = {"order_id": "o-1", "lines": [{"unit_price": "1.50", "note": 'say "hi"\n'}], "é": "ü"}
    envelope = EventEnvelope(type="shop.order.placed", version=2, key="o-1", payload=payload)
    assert envelope_text(envelope).encode() == envelope.to_json()
