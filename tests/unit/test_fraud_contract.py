"""The fraud contract's client turns every way of getting no score into one `FraudServiceError` (the service's own
answers are tested against the real server in tests/integration/test_fraud_service.py), and importing the contract
loads nothing else of this project."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from serving.fraud.contract import FraudScoreRequest, FraudServiceError, score_order

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
    with pytest.raises(FraudServiceError, match=r"did not answer within 0\.2s") as raised:
        score_order(REQUEST, url=f"http://127.0.0.1:{silent_server}", api_key="k", timeout_s=0.2)
    assert raised.value.status_code is None


def test_an_unreachable_service_is_reported():
    with pytest.raises(FraudServiceError, match="unreachable"):
        score_order(REQUEST, url=f"http://127.0.0.1:{closed_port()}", api_key="k", timeout_s=0.5)


OUR_PACKAGES = ("lakehouse", "stack", "ingest", "pipelines", "features", "models", "serving", "assets", "entrypoints")


def test_importing_the_contract_loads_nothing_else_of_ours():
    # In a fresh interpreter: this test process has imported much more already.
    probe = "import sys, serving.fraud.contract; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    ours = {name for name in loaded if name.split(".")[0] in OUR_PACKAGES}
    assert ours == {"serving", "serving.fraud", "serving.fraud.contract"}
