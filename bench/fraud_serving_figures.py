"""The figures of bench/fraud_serving.py, in the order they are measured: the in-process references, then each
HTTP figure right after its do-nothing baseline at the same concurrency (the machine's load drifts: neighbours in
time are the fairest comparison), then the model alone."""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass

from psycopg_pool import ConnectionPool
from redis import Redis

import serving.server
from bench.fraud_serving_inprocess import model_alone, score_in_batches, score_one_by_one
from bench.fraud_serving_load import Load, post_all
from bench.report import Measurement, Report, load_average
from lakehouse.settings import Settings
from models.fraud.registry import ChampionModel
from serving.fraud.contract import SCORE_BATCH_ROUTE, SCORE_ROUTE, FraudScoreRequest
from serving.fraud.model import FraudScorer
from serving.registry import ServedModel, served_model
from serving.server import ModelServer, start_server

WARMUP = 30
HELLO = ServedModel("fraud-hello", "bench.fraud_serving_hello:FraudHello", "fraud_service_url", 0)
CEILING = "ceiling: batches read (1 pipelined Redis call) + scored (1 model call) in-process"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentiles(latencies_s: list[float]) -> dict[str, float | None]:
    p50, p99, _ = Load(latencies_s=latencies_s).percentiles_ms()
    return {"p50_ms": p50, "p99_ms": p99}


def in_process(
    scorer: FraudScorer, settings: Settings, redis: Redis, requests: list, batch: int, report: Report
) -> None:
    ttl_s, ceiling = settings.online_feature_ttl_s, f"{CEILING}, {batch} orders per batch"
    with ConnectionPool(settings.postgres_url, min_size=1, max_size=1, open=True) as postgres:
        score_in_batches(scorer, redis, postgres, requests[: batch * 3], batch, ttl_s)  # warm up
        latencies, seconds = score_in_batches(scorer, redis, postgres, requests, batch, ttl_s)
        report.add(Measurement(ceiling, len(requests), seconds, "orders", True, **_percentiles(latencies)))
        latencies, seconds = score_one_by_one(scorer, redis, postgres, requests[:1000], ttl_s)
    name = "reference: 1 order at a time in-process (1 Redis call + 1-row model call each)"
    report.add(Measurement(name, len(latencies), seconds, "orders", compare_to=ceiling, **_percentiles(latencies)))


def _http(
    report: Report,
    server: ModelServer,
    api_key: str,
    route: str,
    bodies: list[dict],
    level: int,
    name: str,
    orders_per_body: int = 1,
    **compared: object,
) -> Load:
    load = post_all(server.url, api_key, route, bodies, level, WARMUP)
    items = len(load.latencies_s) * orders_per_body
    p50, p99, _ = load.percentiles_ms()
    report.add(Measurement(name, items, load.seconds, "orders", notes=load.notes(), p50_ms=p50, p99_ms=p99, **compared))
    print(f"    p50 {p50 or 0:.1f} ms, p99 {p99 or 0:.1f} ms, {load.notes()}", flush=True)
    return load


@dataclass(frozen=True)
class Servers:
    fraud: ModelServer  # single orders coalesced (the service as configured)
    one_by_one: ModelServer  # the same service scoring each single order alone (fraud_max_coalesced_orders=1)
    hello: ModelServer  # the do-nothing baseline

    def stop(self) -> None:
        for server in (self.fraud, self.one_by_one, self.hello):
            server.stop()


def single_orders(report: Report, servers: Servers, key: str, singles: list[dict], levels: list[int]) -> None:
    for level in levels:
        print(f"  POST {SCORE_ROUTE} at concurrency {level}", flush=True)
        base = f"baseline: POST {SCORE_ROUTE} to a do-nothing BentoML service, {level} concurrent"
        _http(report, servers.hello, key, SCORE_ROUTE, singles, level, base, is_baseline=True)
        name = f"POST {SCORE_ROUTE}, each order alone, {level} concurrent"
        _all_online(_http(report, servers.one_by_one, key, SCORE_ROUTE, singles, level, name, compare_to=base))
        name = f"POST {SCORE_ROUTE}, concurrent orders coalesced, {level} concurrent"
        _all_online(_http(report, servers.fraud, key, SCORE_ROUTE, singles, level, name, compare_to=base))


def batches(report: Report, servers: Servers, key: str, requests: list[FraudScoreRequest], size: int) -> None:
    bodies = [
        {"orders": [order.model_dump(mode="json") for order in requests[start : start + size]]}
        for start in range(0, len(requests) - size + 1, size)
    ]
    ceiling = f"{CEILING}, {size} orders per batch"
    for level in (1, 2):
        print(f"  POST {SCORE_BATCH_ROUTE} of {size} orders at concurrency {level}", flush=True)
        base = f"baseline: POST {SCORE_BATCH_ROUTE} of {size} to a do-nothing BentoML service, {level} concurrent"
        _http(report, servers.hello, key, SCORE_BATCH_ROUTE, bodies, level, base, size, compare_to="")
        name = f"POST {SCORE_BATCH_ROUTE} of {size} orders, {level} concurrent (vs the ceiling)"
        load = _http(report, servers.fraud, key, SCORE_BATCH_ROUTE, bodies, level, name, size, compare_to=ceiling)
        _all_online(load, batched=True)


def singles_of(requests: list[FraudScoreRequest]) -> list[dict]:
    return [request.model_dump(mode="json") for request in requests]


def _all_online(load: Load, batched: bool = False) -> None:
    answers = [score for answer in load.answers for score in answer["scores"]] if batched else load.answers
    sources = {answer["features_source"] for answer in answers}
    if sources - {"online"}:
        raise RuntimeError(f"the service fell back to PostgreSQL for some orders: {sources}")


def start_servers(settings: Settings) -> Servers:
    """The three servers, one after the other; on a loaded machine each may take minutes to load (a worker imports
    sklearn and MLflow and loads the model), longer than the 90 s the main job allows, so the bench waits 5."""
    serving.server.READY_TIMEOUT_S = max(serving.server.READY_TIMEOUT_S, 300.0)
    one_by_one = settings.model_copy(update={"fraud_max_coalesced_orders": 1})
    wanted = [(settings, served_model("fraud"), None), (one_by_one, served_model("fraud"), free_port())]
    wanted.append((settings, HELLO, free_port()))
    started: list[ModelServer] = []
    try:
        for server_settings, model, port in wanted:
            started.append(start_server(server_settings, model, port))
    except BaseException:
        for server in started:
            server.stop()
        raise
    return Servers(*started)


def run_figures(
    settings: Settings,
    champion: ChampionModel,
    redis: Redis,
    requests: list[FraudScoreRequest],
    args: argparse.Namespace,
    levels: list[int],
) -> Report:
    report = Report("fraud_serving", {})
    scorer = FraudScorer.from_champion(champion)
    servers = start_servers(settings)
    print(f"services up: fraud {servers.fraud.url}, one by one {servers.one_by_one.url}, hello {servers.hello.url}")
    load_before = load_average()
    try:
        in_process(scorer, settings, redis, requests, args.batch_size, report)
        single_orders(report, servers, settings.fraud_api_key, singles_of(requests[: args.requests]), levels)
        batches(report, servers, settings.fraud_api_key, requests, args.batch_size)
        model_alone(scorer, champion.model, max(args.requests, 1000), report)
    finally:
        servers.stop()
    report.parameters.update(
        {
            "requests_per_level": args.requests,
            "concurrency": levels,
            "entities": args.entities,
            "batch_size": args.batch_size,
            "bentoml_workers": settings.fraud_workers,
            "max_coalesced_orders": settings.fraud_max_coalesced_orders,
            "load_average_before": load_before,
            "load_average_after": load_average(),
        }
    )
    return report
