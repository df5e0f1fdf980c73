"""The sentiment service over HTTP on the real stack: a BentoML server subprocess serving a champion trained on a
small sample and registered in a throwaway MLflow store, author features from the real Redis, the PostgreSQL
fallback from a scratch domain schema made by the kit's ``lakehouse_kit.create_moderation``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from ports import free_port
from psycopg import sql
from psycopg_pool import ConnectionPool
from redis import Redis
from service_fuzz import fuzz, fuzzed_routes

from features.moderation.history import PastDecision
from features.moderation.online import author_key, rebuild_history
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from models.sentiment.registry import train_and_register
from models.sentiment.scorer import SentimentScorer, load_champion
from serving.registry import served_model
from serving.sentiment.contract import (
    MAX_BATCH,
    MAX_TEXT_CHARS,
    ModerationItem,
    SentimentServiceError,
    moderate,
    score_texts,
)
from serving.server import ModelServer, start_server
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration

API_KEY = "test-sentiment-key"
TTL_S = 3600
HOUR = timedelta(hours=1)
TEXTS = [
    "What a wonderful, lovely day with friends",
    "This is the worst service I have ever had, I hate it",
    "The battery died after two days. Useless.",
    "Great phone, works perfectly and looks amazing",
    "meh",
]


@dataclass(frozen=True)
class Served:
    server: ModelServer
    settings: Settings
    scorer: SentimentScorer  # the same champion, loaded in the test process: the reference scores
    domain: str

    def post(self, route: str, body: dict, key: str | None = API_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{self.server.url}{route}", json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def served(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    overrides = {
        "home": tmp_path_factory.mktemp("sentiment-home"),
        "sentiment_api_key": API_KEY,
        "online_feature_ttl_s": TTL_S,
        "sentiment_service_url": f"http://127.0.0.1:{port}",
    }
    settings = Settings(**stack_settings.model_dump(exclude={"home"}) | overrides)
    train_and_register(settings, sample=100, progress=lambda line: None)
    domain = f"t_{uuid.uuid4().hex[:12]}"
    apply_all(settings, [KIT_STORAGE], progress=lambda line: None)
    with ConnectionPool(settings.postgres_url, min_size=1, max_size=1, name="sentiment-test") as pool:
        with pool.connection() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(domain)))
            conn.execute("SELECT lakehouse_kit.create_moderation(%s)", (domain,))
        server = start_server(settings, served_model("sentiment"), port)
        print(f"sentiment service started in {server.started_in_s:.1f}s")
        try:
            yield Served(server, settings, load_champion(settings), domain)
        finally:
            server.stop()
            with pool.connection() as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(domain)))


@pytest.fixture
def redis_client(stack_settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def author(served: Served, redis_client: Redis, unique_name: str) -> Iterator[str]:
    yield f"u-{unique_name}"
    redis_client.delete(author_key(served.domain, f"u-{unique_name}"))


def expected_scores(served: Served, texts: list[str]) -> list[tuple[int, float]]:
    labels, scores = served.scorer.predict(texts)
    return [(int(label), float(score)) for label, score in zip(labels, scores, strict=True)]


def answered(response: httpx.Response) -> list[tuple[int, float]]:
    assert response.status_code == 200, response.text
    return [(s["label"], s["score"]) for s in response.json()["scores"]]


def test_one_text_is_scored_as_the_champion_scores_it_in_process(served):
    response = served.post("/score", {"text": TEXTS[0]})
    [(label, score)] = answered(response)
    [(want_label, want_score)] = expected_scores(served, [TEXTS[0]])
    assert label == want_label and score == pytest.approx(want_score, abs=1e-6)
    assert (response.json()["model_name"], response.json()["model_version"]) == ("sentiment", "1")


def test_a_batch_is_scored_in_order(served):
    texts = TEXTS * 40  # 200 texts: more than one model batch
    got = answered(served.post("/score", {"texts": texts}))
    want = expected_scores(served, texts)
    assert [label for label, _ in got] == [label for label, _ in want]
    assert [score for _, score in got] == pytest.approx([score for _, score in want], abs=1e-6)


def test_concurrent_requests_each_get_their_own_answer(served):
    # More than 100 requests, 10 at a time: BentoML's in-process client once failed those (see the service).
    texts = TEXTS * 24

    async def post_all() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(base_url=served.server.url, headers=headers, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(client.post("/score", json={"text": text}) for text in texts))

    responses = asyncio.run(post_all())
    got = [answered(response)[0] for response in responses]
    want = expected_scores(served, texts)
    assert [label for label, _ in got] == [label for label, _ in want]
    assert [score for _, score in got] == pytest.approx([score for _, score in want], abs=1e-6)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"text": ""}, "at least 1 character"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "at most 5000 characters"),
        ({"texts": ["fine"] * (MAX_BATCH + 1)}, "at most 1000 items"),
        ({"texts": ["fine", ""]}, "texts[1] must have 1 to 5000 characters"),
        ({}, "send exactly one of 'text'"),
        ({"txt": "typo"}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_score_request_is_a_400_naming_the_problem(served, body, says):
    response = served.post("/score", body)
    assert response.status_code == 400
    assert any(says in error["msg"] for error in response.json()["detail"]), response.text


@pytest.mark.parametrize("field", ["author_id", "text", "content_id"])
def test_a_moderation_item_without_a_field_is_a_400_naming_it(served, author, field):
    item = {"domain": served.domain, "content_kind": "message", "content_id": "c", "author_id": author, "text": "hi"}
    del item[field]
    response = served.post("/moderate", {"items": [item]})
    assert response.status_code == 400
    assert [error["loc"] for error in response.json()["detail"]] == [["items", 0, field]]


def test_moderating_for_a_domain_without_moderation_is_a_422_naming_it(served, author):
    item = {"domain": "nosuchdomain", "content_kind": "message", "content_id": "c", "author_id": author, "text": "hi"}
    response = served.post("/moderate", {"items": [item]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["items", 0, "domain"]
    assert "'nosuchdomain' has no moderation_decisions" in response.json()["error"]


@pytest.mark.parametrize(("route", "key"), [("/score", None), ("/score", "wrong"), ("/moderate", None)])
def test_every_api_needs_the_key(served, route, key):
    response = served.post(route, {"text": "hello"}, key=key)
    assert response.status_code == 401 and "Authorization: Bearer" in response.json()["error"]


@pytest.mark.parametrize("path", ["/docs", "/docs.json", "/metrics", "/readyz"])
def test_docs_probes_and_metrics_need_no_key(served, path):
    assert httpx.get(f"{served.server.url}{path}", follow_redirects=True).status_code == 200


def test_the_openapi_spec_describes_both_routes(served):
    paths = httpx.get(f"{served.server.url}/docs.json").json()["paths"]
    assert {"/score", "/moderate"} <= set(paths)


def test_scores_are_counted_in_the_metrics(served):
    served.post("/score", {"text": TEXTS[1]})
    metrics = httpx.get(f"{served.server.url}/metrics").text
    assert 'sentiment_texts_scored_total{label="0"}' in metrics
    assert "adaptive_batch_size" in metrics  # BentoML's histogram of the batches its dispatcher formed


def item(served: Served, author: str, content_id: str, text: str) -> dict:
    return {
        "domain": served.domain,
        "content_kind": "message",
        "content_id": content_id,
        "author_id": author,
        "text": text,
    }


def store_decision(served: Served, author: str, content_id: str, label: int, flagged: bool, decided_at: datetime):
    """A decision row as the kit stores it after the service answered."""
    insert = sql.SQL(
        "INSERT INTO {} (content_kind, content_id, author_id, label, score, flagged, reason, model_version,"
        " features_source, decided_at) VALUES ('message', %s, %s, %s, 0.5, %s, 'test', '1', 'none', %s)"
    ).format(sql.Identifier(served.domain, "moderation_decisions"))
    with psycopg.connect(served.settings.postgres_url, autocommit=True) as conn:
        conn.execute(insert, (content_id, author, label, flagged, decided_at))


def decisions_of(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["decisions"]


def test_a_first_time_author_has_no_history_and_the_decision_follows_the_score(served, author):
    [decision] = decisions_of(served.post("/moderate", {"items": [item(served, author, "c1", TEXTS[1])]}))
    [(label, score)] = expected_scores(served, [TEXTS[1]])
    assert (decision["features_source"], decision["label"]) == ("none", label)
    assert decision["score"] == pytest.approx(score, abs=1e-6)
    assert decision["features"] == {"messages_24h": 0, "negative_share_24h": 0, "flagged_24h": 0}
    assert decision["flagged"] == (1 - score >= served.settings.moderation_flag_negative)
    assert decision["reason"].startswith("very-negative" if decision["flagged"] else "not-flagged")


def test_missing_online_features_are_recomputed_from_postgres(served, author):
    now = datetime.now(UTC)
    store_decision(served, author, "old1", 0, True, now - 2 * HOUR)
    store_decision(served, author, "old2", 0, True, now - 3 * HOUR)
    store_decision(served, author, "old3", 1, False, now - 30 * HOUR)  # outside the day
    [decision] = decisions_of(served.post("/moderate", {"items": [item(served, author, "new", TEXTS[2])]}))
    assert decision["features_source"] == "fallback:missing"
    assert decision["features"] == {"messages_24h": 2, "negative_share_24h": 1.0, "flagged_24h": 2}
    # Two flagged pieces in the day: the lower bar applies.
    p_negative = 1 - decision["score"]
    assert decision["flagged"] == (p_negative >= served.settings.moderation_watch_negative)


def test_fresh_online_features_are_used_and_updated(served, redis_client, author):
    now = datetime.now(UTC)
    history = [PastDecision(f"message:h{i}", (now - i * HOUR).timestamp(), i % 2, False) for i in range(1, 5)]
    rebuild_history(redis_client, served.domain, author, history, now)
    first, second = decisions_of(
        served.post("/moderate", {"items": [item(served, author, "a", TEXTS[0]), item(served, author, "b", TEXTS[3])]})
    )
    assert first["features_source"] == second["features_source"] == "online"
    assert first["features"] == {"messages_24h": 4, "negative_share_24h": 0.5, "flagged_24h": 0}
    assert second["features"]["messages_24h"] == 5  # the first item of the request counts for the second
    assert redis_client.hlen(author_key(served.domain, author)) == 4 + 2 + 1  # decisions + as_of


def test_stale_online_features_are_replaced_by_postgres(served, redis_client, author):
    now = datetime.now(UTC)
    bogus = [PastDecision(f"message:b{i}", now.timestamp(), 0, True) for i in range(9)]
    rebuild_history(redis_client, served.domain, author, bogus, now - timedelta(seconds=2 * TTL_S))
    store_decision(served, author, "s1", 1, False, now - HOUR)
    [decision] = decisions_of(served.post("/moderate", {"items": [item(served, author, "s2", TEXTS[0])]}))
    assert decision["features_source"] == "fallback:stale"
    assert decision["features"] == {"messages_24h": 1, "negative_share_24h": 0.0, "flagged_24h": 0}


def test_re_moderating_the_same_content_does_not_double_count(served, author):
    for _ in range(3):
        [decision] = decisions_of(served.post("/moderate", {"items": [item(served, author, "same", TEXTS[1])]}))
        assert decision["features"]["messages_24h"] == 0  # its own earlier decision never counts
    [other] = decisions_of(served.post("/moderate", {"items": [item(served, author, "other", TEXTS[0])]}))
    assert (other["features_source"], other["features"]["messages_24h"]) == ("online", 1)


def test_the_contract_clients_return_typed_answers_and_raise_on_errors(served, author):
    url, timeout = served.server.url, 30.0
    scored = score_texts(TEXTS[:2], url=url, api_key=API_KEY, timeout_s=timeout)
    assert [s.label for s in scored.scores] == [label for label, _ in expected_scores(served, TEXTS[:2])]
    items = [ModerationItem(**item(served, author, "typed", TEXTS[0]))]
    decided = moderate(items, url=url, api_key=API_KEY, timeout_s=timeout)
    assert [(d.content_id, d.model_name) for d in decided.decisions] == [("typed", "sentiment")]
    with pytest.raises(SentimentServiceError, match="401") as raised:
        moderate(items, url=url, api_key="wrong", timeout_s=timeout)
    assert raised.value.status_code == 401


def test_generated_requests_are_answered_as_documented(served):
    # Moderation items name authors the fuzzer invents: they land in the module's own throwaway domain schema.
    ran = fuzz(served.server.url, {"Authorization": f"Bearer {API_KEY}"})
    assert fuzzed_routes(ran, "POST /score", "POST /moderate"), ran
