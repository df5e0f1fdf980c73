"""Schemathesis against the fraud service the test run shares (``fraud_served``), over real HTTP
(``tests/service_fuzz.py`` says what is checked; the sentiment and anomaly services are fuzzed in their own
modules, on the servers those start)."""

from __future__ import annotations

import pytest
from fraud_served import API_KEY, Served
from service_fuzz import fuzz, fuzzed_routes

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fraud_service_answers_generated_requests_as_documented(fraud_served: Served) -> None:
    ran = fuzz(fraud_served.server.url, {"Authorization": f"Bearer {API_KEY}"})
    assert fuzzed_routes(ran, "POST /score", "POST /score/batch"), ran
