"""An entity's hash reads the same whether the Redis client hands back bytes (the default) or text
(``decode_responses=True``, as the services' clients do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from features.online_store import AS_OF_FIELD, EntityFeatures, _entity

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
NAMES = ("orders_1d", "risk_7d")


def as_bytes(fields: dict[str, str]) -> dict[bytes, bytes]:
    return {key.encode(): value.encode() for key, value in fields.items()}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"orders_1d": "3.0", "risk_7d": "0.25", AS_OF_FIELD: (NOW - timedelta(seconds=30)).isoformat()},
            EntityFeatures("fresh", {"orders_1d": 3.0, "risk_7d": 0.25}, NOW - timedelta(seconds=30)),
        ),
        (
            {"orders_1d": "1.0", "risk_7d": "0.5", AS_OF_FIELD: "2025-06-15T10:00:00"},  # no zone: UTC
            EntityFeatures("stale", {"orders_1d": 1.0, "risk_7d": 0.5}, datetime(2025, 6, 15, 10, tzinfo=UTC)),
        ),
        ({"orders_1d": "1.0", AS_OF_FIELD: NOW.isoformat()}, EntityFeatures("missing")),  # a feature is absent
        ({"orders_1d": "x", "risk_7d": "0.5", AS_OF_FIELD: NOW.isoformat()}, EntityFeatures("missing")),
        ({}, EntityFeatures("missing")),
    ],
)
def test_text_and_bytes_replies_read_alike(fields: dict[str, str], expected: EntityFeatures) -> None:
    assert _entity(fields, NAMES, NOW, max_age_s=3600) == expected
    assert _entity(as_bytes(fields), NAMES, NOW, max_age_s=3600) == expected
