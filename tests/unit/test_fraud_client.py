"""The fraud client turns every way of getting no score into one `FraudServiceError` (the service's own answers
are tested against the real server in tests/integration/test_fraud_service.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lakehouse.settings import Settings
from serving.client import FraudServiceError, score_order
from serving.fraud_schema import FraudScoreRequest

REQUEST = FraudScoreRequest(
    order_id="o-1",
    customer_id="c-1",
    terminal_id="t-1",
    amount=Decimal("12.50"),
    placed_at=datetime(2024, 3, 1, tzinfo=UTC),
)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog does) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_silent_service_times_out_after_the_configured_time(silent_server):
    settings = Settings(fraud_service_url=f"http://127.0.0.1:{silent_server}", fraud_timeout_s=0.2)
    with pytest.raises(FraudServiceError, match=r"did not answer within 0\.2s") as raised:
        score_order(settings, REQUEST)
    assert raised.value.status_code is None


def test_an_unreachable_service_is_reported():
    settings = Settings(fraud_service_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FraudServiceError, match="unreachable"):
        score_order(settings, REQUEST)
