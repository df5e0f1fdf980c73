"""The sentiment and moderation service: the chat and social apps (and anyone with the key) score texts or moderate
content with their authors' recent behaviour.

Serves the registry's ``champion`` of the sentiment model, loaded once when the worker starts (restart to pick up a
new champion). ``POST /score`` takes one text or up to 1,000; ``POST /moderate`` takes up to 1,000 items and answers
one decision per item (``serving.sentiment.decision`` says when content is flagged). Both need
``Authorization: Bearer <sentiment_api_key>``; the Swagger UI (``/``, also ``/docs``), ``/docs.json``, ``/metrics`` and
the health probes do not. Bad input is a 400 naming the field (BentoML's pydantic validation); an item of a
domain without a ``moderation_decisions`` table is a 422 naming the item.

Adaptive batching: every text either route scores goes through ``score_batch``, a batchable API. Both routes call it
through BentoML's in-process client of this service (``self.to_async``), so the dispatcher merges the texts of
concurrent requests into one model call; a request of 1,000 is split into batches of ``MAX_MODEL_BATCH``.

Serve it from the project root: ``bentoml serve serving.sentiment.service:SentimentService --port 3002``
(``lakehouse serve sentiment`` does that in the background).
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from typing import Any

import bentoml
from psycopg_pool import ConnectionPool
from redis import Redis
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from features.moderation.fallback import UnknownDomain
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import load_settings
from models.sentiment.scorer import load_champion
from serving.auth import guard_service
from serving.sentiment.author_features import author_histories, record_decisions
from serving.sentiment.contract import (
    MODERATE_ROUTE,
    SCORE_ROUTE,
    ModerateRequest,
    ModerateResponse,
    ModerationDecision,
    ModerationItem,
    ScoreRequest,
    ScoreResponse,
    TextScore,
)
from serving.sentiment.decision import ModerationPolicy
from serving.sentiment.model_threads import limited_threads
from serving.sentiment.moderation import decide_items

STORE_TIMEOUT_S = 0.3  # per Redis call: the apps wait sentiment_timeout_s for the whole answer
# Texts per model call (the dispatcher splits bigger requests). The encoder sorts a call's texts by length before
# cutting them into its own batches of 64, so a larger call pads less; 256 texts take ~3.5 s on 2 cores.
MAX_MODEL_BATCH = 256
MAX_BATCH_LATENCY_MS = 20_000  # a request of 1,000 texts takes seconds on 2 cores: only refuse when hopelessly late


@bentoml.service(name="sentiment", workers=1, traffic={"timeout": 60})
class SentimentService:
    def __init__(self) -> None:
        self.settings = load_settings()
        configure_mlflow(self.settings)
        self.scorer = load_champion(self.settings)
        self.policy = ModerationPolicy.from_settings(self.settings)
        self.redis = Redis.from_url(self.settings.redis_url, socket_timeout=STORE_TIMEOUT_S)
        self.postgres = ConnectionPool(self.settings.postgres_url, min_size=1, max_size=4, open=True, name="sentiment")
        self.own_authorization = f"Bearer {self.settings.sentiment_api_key}"
        self.texts_scored = bentoml.metrics.Counter(
            name="sentiment_texts_scored_total", documentation="Texts scored, by label", labelnames=["label"]
        )
        self.decisions = bentoml.metrics.Counter(
            name="sentiment_moderation_decisions_total",
            documentation="Moderation decisions by domain and outcome",
            labelnames=["domain", "flagged", "features_source"],
        )

    @bentoml.api(batchable=True, max_batch_size=MAX_MODEL_BATCH, max_latency_ms=MAX_BATCH_LATENCY_MS)
    def score_batch(self, texts: list[str]) -> list[TextScore]:
        """The model call behind /score and /moderate, batched across concurrent requests. Use /score instead."""
        with limited_threads():
            labels, scores = self.scorer.predict(texts)
        for label in (0, 1):
            self.texts_scored.labels(label=str(label)).inc(int((labels == label).sum()))
        return [TextScore(label=int(label), score=float(score)) for label, score in zip(labels, scores, strict=True)]

    def _own_client(self) -> Any:
        """BentoML's in-process client of this very service (set up when the worker starts, after ``__init__``)."""
        own = self.to_async
        # It goes through this service's own routes, so it passes the API-key middleware like any caller.
        own.default_headers["Authorization"] = self.own_authorization
        sessions = getattr(own, "_session_manager", None)
        if sessions is not None:
            # BentoML 1.4.30+ remakes the client's session every 100 requests and closes the old one under the
            # requests still using it: 500s (ServerDisconnectedError) at 10 concurrent clients (bentoml/BentoML
            # #5540, #5544). In process there is no connection worth refreshing, so keep the one session.
            sessions.max_requests, sessions.max_age = sys.maxsize, math.inf
        return own

    async def _scores(self, texts: list[str]) -> list[TextScore]:
        answer = await self._own_client().score_batch(texts=texts)
        return [TextScore.model_validate(score) for score in answer]

    @bentoml.api(route=SCORE_ROUTE, input_spec=ScoreRequest, output_spec=ScoreResponse)
    async def score(self, **fields: Any) -> ScoreResponse:
        """Label (1 positive, 0 negative) and P(positive) of one text (``text``) or up to 1,000 (``texts``)."""
        request = ScoreRequest(**fields)  # BentoML validated the body already; this gives it its type back
        scores = await self._scores(request.batch)
        return ScoreResponse(scores=scores, model_name=self.scorer.model_name, model_version=self.scorer.model_version)

    @bentoml.api(route=MODERATE_ROUTE, input_spec=ModerateRequest, output_spec=ModerateResponse)
    async def moderate(self, **fields: Any) -> ModerateResponse | JSONResponse:
        """One decision per item: flagged or not, why, and the author's recent behaviour the decision used."""
        request = ModerateRequest(**fields)
        now = datetime.now(UTC)
        scores = await self._scores([item.text for item in request.items])
        try:
            decisions = await run_in_threadpool(self._decide, request.items, scores, now)
        except UnknownDomain as error:
            return _unknown_domain(request.items, error)
        return ModerateResponse(decisions=decisions)

    def _decide(self, items: list[ModerationItem], scores: list[TextScore], now: datetime) -> list[ModerationDecision]:
        """Blocking (Redis, PostgreSQL): run in a worker thread, never on the event loop."""
        ttl_s = self.settings.online_feature_ttl_s
        histories = {}
        for domain in dict.fromkeys(item.domain for item in items):
            authors = list(dict.fromkeys(item.author_id for item in items if item.domain == domain))
            found = author_histories(self.redis, self.postgres, domain, authors, now, ttl_s)
            histories |= {(domain, author): history for author, history in found.items()}
        labels, probabilities = [s.label for s in scores], [s.score for s in scores]
        model = (self.scorer.model_name, self.scorer.model_version)
        decisions, decided = decide_items(items, labels, probabilities, histories, self.policy, now, model)
        for domain in dict.fromkeys(item.domain for item in items):
            new = {author: entries for (d, author), entries in decided.items() if d == domain}
            mine = {author: history for (d, author), history in histories.items() if d == domain}
            record_decisions(self.redis, domain, new, mine)
        for decision in decisions:
            outcome = {"flagged": str(decision.flagged).lower(), "features_source": decision.features_source}
            self.decisions.labels(domain=decision.domain, **outcome).inc()
        return decisions

    @bentoml.on_shutdown
    def close(self) -> None:
        self.redis.close()
        self.postgres.close()


def _unknown_domain(items: list[ModerationItem], error: UnknownDomain) -> JSONResponse:
    """A 422 shaped like BentoML's validation errors, naming the first item of the unknown domain."""
    first = next(index for index, item in enumerate(items) if item.domain == error.domain)
    detail = [{"loc": ["items", first, "domain"], "msg": str(error), "type": "unknown_domain"}]
    return JSONResponse({"error": str(error), "detail": detail}, status_code=422)


guard_service(
    SentimentService,
    "sentiment_api_key",
    responses={(MODERATE_ROUTE, 422): "an item names a domain that has no moderation"},
)
