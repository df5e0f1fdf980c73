"""The anomaly service: score a device's readings (or one reading in its live context) with the champion detector.

Serves the registry's ``champion`` of ``iot_anomaly``, loaded once when the worker starts (restart to pick up a new
champion). ``POST /score`` needs ``Authorization: Bearer <anomaly_api_key>``; the Swagger UI (``/``, also ``/docs``),
``/docs.json``, ``/metrics`` and the health probes do not. Bad input is a 4xx naming the field (BentoML's pydantic
validation).

Two shapes (``serving.anomaly.contract``):

- ``readings``: scored in order from a **fresh** state, exactly as ``lakehouse score anomaly`` scores a file. Fresh,
  not the device's live state: the answer then depends only on the request (reproducible, and comparable with a
  file scored offline), and readings the live scorer has already folded into the device's state are not counted
  twice. The detector alerts only after ``min_history`` readings, so send a long enough history to get alerts.
- ``reading``: one reading scored after the device's live state in Redis, which the service reads and never saves
  (the live scorer owns it). A device without a state scores from a fresh one: a score near 0 and no alert.

The device's settings come from its model's cadence (``serving.anomaly.device_settings``); a device the registry
does not know gets those of the readings' own cadence (the default cadence for a single reading).

Serve it from the project root: ``bentoml serve serving.anomaly.service:AnomalyService --port 3003``
(``lakehouse serve anomaly`` does that in the background). Synchronous API: Redis and PostgreSQL calls are blocking
and BentoML runs synchronous APIs in its thread pool.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import bentoml
from psycopg_pool import ConnectionPool
from redis import Redis

from features.anomaly.state_store import load_state
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import load_settings
from models.anomaly import ANOMALY_MODEL_NAME
from models.anomaly.detector import reading_epoch_seconds, score, score_series
from models.anomaly.fitted import series_cadence
from models.anomaly.registry import load_champion_params
from models.anomaly.state import DeviceState
from serving.anomaly.contract import SCORE_ROUTE, AnomalyScoreRequest, AnomalyScoreResponse, ReadingScore
from serving.anomaly.device_settings import device_model
from serving.auth import guard_service

STORE_TIMEOUT_S = 0.3  # per Redis call: callers wait anomaly_timeout_s for the whole answer


@bentoml.service(name="anomaly", workers=1, traffic={"timeout": 30})
class AnomalyService:
    def __init__(self) -> None:
        self.settings = load_settings()
        configure_mlflow(self.settings)
        self.champion = load_champion_params(self.settings)  # raises, naming the command to train, when none
        self.redis = Redis.from_url(self.settings.redis_url, socket_timeout=STORE_TIMEOUT_S)
        self.postgres = ConnectionPool(self.settings.postgres_url, min_size=1, max_size=4, open=True, name="anomaly")
        self.readings_scored = bentoml.metrics.Counter(
            name="anomaly_readings_scored_total",
            documentation="Readings scored, by request shape and whether they alerted",
            labelnames=["shape", "alert"],
        )

    @bentoml.api(route=SCORE_ROUTE, input_spec=AnomalyScoreRequest, output_spec=AnomalyScoreResponse)
    def score(self, **fields: Any) -> AnomalyScoreResponse:
        """Anomaly score (0..1) and alert of a device's readings (from a fresh state) or of one reading (after
        the device's live state)."""
        request = AnomalyScoreRequest(**fields)  # BentoML validated the body already; this gives it its type back
        with self.postgres.connection() as conn:
            model_id, sampling = device_model(conn, request.device_id, request.model_id)
        if request.readings is not None:
            answer = self._series(request, model_id, sampling)
        else:
            answer = self._single(request, model_id, sampling)
        for scored in answer.scores:
            self.readings_scored.labels(shape="series" if request.readings else "single", alert=scored.alert).inc()
        return answer

    def _series(self, request: AnomalyScoreRequest, model_id: str | None, sampling: float | None) -> Any:
        # Naive times read as UTC, each on its own (a series may mix them).
        times = [ts if ts.tzinfo else ts.replace(tzinfo=UTC) for ts in (r.ts for r in request.readings)]
        sampling = sampling or series_cadence(times)
        params = self.champion.params_for(model_id, sampling)
        scored = score_series(params, times, [reading.value for reading in request.readings])
        scores = [
            ReadingScore(ts=reading.ts, value=reading.value, anomaly_score=float(s), alert=bool(a))
            for reading, s, a in zip(request.readings, scored["anomaly_score"], scored["alert"], strict=True)
        ]
        return self._response(request, model_id, params.sampling_seconds, "fresh", 0, scores)

    def _single(self, request: AnomalyScoreRequest, model_id: str | None, sampling: float | None) -> Any:
        params = self.champion.params_for(model_id, sampling)
        state = load_state(self.redis, request.device_id, request.sensor)
        source = "device" if state is not None else "none"
        state = state or DeviceState()
        reading = request.reading
        anomaly_score, alert, _ = score(params, state, reading_epoch_seconds(reading.ts), reading.value)
        scores = [ReadingScore(ts=reading.ts, value=reading.value, anomaly_score=anomaly_score, alert=alert)]
        return self._response(request, model_id, params.sampling_seconds, source, state.seen, scores)

    def _response(
        self,
        request: AnomalyScoreRequest,
        model_id: str | None,
        sampling: float,
        source: str,
        history: int,
        scores: list[ReadingScore],
    ) -> AnomalyScoreResponse:
        return AnomalyScoreResponse(
            device_id=request.device_id,
            sensor=request.sensor,
            model_id=model_id,
            sampling_seconds=sampling,
            state=source,
            history=history,
            scores=scores,
            model_name=ANOMALY_MODEL_NAME,
            model_version=self.champion.model_version,
        )

    @bentoml.on_shutdown
    def close(self) -> None:
        self.redis.close()
        self.postgres.close()


guard_service(AnomalyService, "anomaly_api_key", nullable_in=(AnomalyScoreResponse,))
