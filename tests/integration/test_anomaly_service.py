"""The anomaly service over HTTP on the real stack: a BentoML server subprocess serving the champion of a throwaway
MLflow store, device states from the real Redis, device models from the real PostgreSQL registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
from ports import free_port
from redis import Redis
from service_fuzz import fuzz, fuzzed_routes

from features.anomaly.state_store import delete_states, load_state, save_states
from ingest.core.storage import KIT_STORAGE
from ingest.iot.contract import CONTRACT
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.anomaly.detector import reading_epoch_seconds, score, score_series, score_series_with_state
from models.anomaly.registry import load_champion_params, train_and_register
from models.anomaly.training import TrainingConfig
from serving.anomaly.contract import AnomalyScoreRequest, ReadingIn, score_readings
from serving.registry import served_model
from serving.server import ModelServer, start_server
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
API_KEY = "test-anomaly-key"
TIMES = list(pd.date_range("2024-03-01", periods=400, freq="5min", tz="UTC"))
VALUES = [round(float(v), 3) for v in 30 + np.random.default_rng(4).normal(0, 1, 400)]


@dataclass(frozen=True)
class Served:
    server: ModelServer
    settings: Settings

    def post(self, body: dict, key: str | None = API_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{self.server.url}/score", json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def served(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    port = free_port()
    overrides = {"home": tmp_path_factory.mktemp("anomaly-home"), "anomaly_api_key": API_KEY}
    settings = Settings(
        **stack_settings.model_dump(exclude={"home"}) | overrides | {"anomaly_service_url": f"http://127.0.0.1:{port}"}
    )
    configure_mlflow(settings)
    train_and_register(settings, TrainingConfig(cadences=(300,), devices=2, readings_per_device=1000, plots=0))
    server = start_server(settings, served_model("anomaly"), port)
    print(f"anomaly service started in {server.started_in_s:.1f}s")
    yield Served(server, settings)
    server.stop()


def test_without_the_key_it_answers_401_and_the_docs_and_metrics_are_public(served: Served) -> None:
    body = {"device_id": "d", "sensor": "s", "reading": {"ts": "2024-01-01T00:00:00Z", "value": 1.0}}
    assert served.post(body, key=None).status_code == 401
    assert served.post(body, key="wrong").status_code == 401
    assert httpx.get(f"{served.server.url}/docs.json", timeout=10).status_code == 200
    assert httpx.get(f"{served.server.url}/metrics", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"device_id": "d", "sensor": "s"}, "exactly one of"),
        (
            {
                "device_id": "d",
                "sensor": "s",
                "reading": {"ts": "2024-01-01T00:00:00Z", "value": 1},
                "readings": [{"ts": "2024-01-01T00:00:00Z", "value": 1}],
            },
            "exactly one of",
        ),
        (
            {
                "device_id": "d",
                "sensor": "s",
                "readings": [{"ts": "2024-01-01T00:05:00Z", "value": 1}, {"ts": "2024-01-01T00:00:00Z", "value": 2}],
            },
            "readings[1].ts",
        ),
        ({"device_id": "", "sensor": "s", "reading": {"ts": "2024-01-01T00:00:00Z", "value": 1}}, "device_id"),
        ({"device_id": "d", "sensor": "s", "reading": {"ts": "yesterday", "value": 1}}, "ts"),
        ({"device_id": "d", "sensor": "s", "reading": {"ts": "2024-01-01T00:00:00Z", "value": "x"}}, "value"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem(served: Served, body: dict, named: str) -> None:
    response = served.post(body)
    assert 400 <= response.status_code < 500 and named in response.text, response.text


def test_a_device_without_history_gets_a_calm_score_and_no_alert(served: Served, unique_name: str) -> None:
    body = {
        "device_id": f"dev-{unique_name}",
        "sensor": "temp",
        "reading": {"ts": "2024-01-01T00:00:00Z", "value": 1e6},
    }
    response = served.post(body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["state"], answer["history"], answer["model_version"]) == ("none", 0, "1")
    (only,) = answer["scores"]
    assert only["anomaly_score"] <= 0.05 and only["alert"] is False


def test_one_reading_is_scored_after_the_devices_live_state_which_is_left_as_it_was(
    served: Served, unique_name: str
) -> None:
    device = f"dev-{unique_name}"
    params = load_champion_params(served.settings).params_for(None, None)
    _, state = score_series_with_state(params, TIMES[:-1], VALUES[:-1])
    redis = Redis.from_url(served.settings.redis_url)
    save_states(redis, {(device, "temp"): state})
    try:
        request = AnomalyScoreRequest(
            device_id=device, sensor="temp", reading=ReadingIn(ts=TIMES[-1].to_pydatetime(), value=VALUES[-1] + 25)
        )
        answer = score_readings(request, url=served.server.url, api_key=API_KEY, timeout_s=30)
        expected, alert, _ = score(params, state, reading_epoch_seconds(TIMES[-1].to_pydatetime()), VALUES[-1] + 25)
        assert (answer.state, answer.history) == ("device", len(TIMES) - 1)
        assert (answer.scores[0].anomaly_score, answer.scores[0].alert) == (expected, alert)
        assert load_state(redis, device, "temp") == state  # the live scorer owns the state: never saved here
    finally:
        delete_states(redis, [(device, "temp")])
        redis.close()


def test_a_series_is_scored_from_a_fresh_state_like_the_score_command(served: Served, unique_name: str) -> None:
    values = list(VALUES)
    values[350] += 30
    readings = [{"ts": t.isoformat(), "value": v} for t, v in zip(TIMES, values, strict=True)]
    response = served.post({"device_id": f"dev-{unique_name}", "sensor": "temp", "readings": readings})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["state"], answer["sampling_seconds"], answer["model_id"]) == ("fresh", 300.0, None)
    params = load_champion_params(served.settings).params_for(None, 300.0)
    expected = score_series(params, TIMES, values)
    assert [s["anomaly_score"] for s in answer["scores"]] == expected["anomaly_score"].tolist()
    assert [int(s["alert"]) for s in answer["scores"]] == expected["alert"].tolist()
    assert expected["alert"].sum() >= 1


def test_generated_requests_are_answered_as_documented(served):
    ran = fuzz(served.server.url, {"Authorization": f"Bearer {API_KEY}"})
    assert fuzzed_routes(ran, "POST /score"), ran
