"""The device side of the gateway: readings the gateway refuses by index are dropped and reported, the rest sent
again; a 503 is retried with the same body; a refusal of the device itself is final.

The gateway is played by an httpx transport answering as the real one does (its integration test holds that).
"""

from __future__ import annotations

import json

import httpx
import pytest

from ingest.iot import telemetry_client
from ingest.iot.telemetry_client import TelemetryRefused, post_readings


def client_answering(answers: list[httpx.Response], seen: list[dict]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return answers.pop(0)

    return httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(handle))


def readings(count: int) -> list[dict]:
    return [{"sensor": "value", "ts": f"2014-01-01T00:0{i}:00Z", "value": float(i), "seq": i} for i in range(count)]


def test_refused_readings_are_reported_and_the_rest_sent_again() -> None:
    refused = {"detail": "batch refused", "problems": ["readings[1]: value is not finite", "readings[3]: ts x"]}
    seen: list[dict] = []
    client = client_answering([httpx.Response(422, json=refused), httpx.Response(202, json={"accepted": 3})], seen)
    posted = post_readings(client, "dev-1", "key", readings(5))
    assert posted.accepted == 3 and posted.batches == 1
    assert posted.rejected == [(1, "value is not finite"), (3, "ts x")]
    assert [r["seq"] for r in seen[1]["readings"]] == [0, 2, 4]


def test_a_503_is_retried_with_the_same_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry_client.time, "sleep", lambda seconds: None)
    seen: list[dict] = []
    answers = [httpx.Response(503, json={"detail": "Kafka"}), httpx.Response(202, json={"accepted": 2})]
    posted = post_readings(client_answering(answers, seen), "dev-1", "key", readings(2))
    assert posted.accepted == 2 and seen[0] == seen[1]


def test_a_refused_device_is_final() -> None:
    answers = [httpx.Response(401, json={"detail": "wrong key for device 'dev-1'", "problems": []})]
    with pytest.raises(TelemetryRefused, match="401"):
        post_readings(client_answering(answers, []), "dev-1", "key", readings(2))
