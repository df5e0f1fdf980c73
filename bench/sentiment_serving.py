"""Sentiment serving: texts/s and latency (p50, p99) of POST /score through the real BentoML server at 1, 10 and 100
concurrent clients, for single-text and batched requests, beside the in-process ceiling measured in the same run:
the same champion's ``predict`` in a loop in this process (batched as the requests are, and one text per call),
with no HTTP, no BentoML, no second process.

    .venv/bin/python -m bench.sentiment_serving --singles 300 --batches 20 --batch-size 100 --concurrency 1,10,100

Needs the local stack (Redis, PostgreSQL: `lakehouse stack up`) and the shared data folder: the model is trained on a
small sample (``--sample`` rows per source) and registered in a temporary MLflow store; the texts are real sentences
from the same sources. Prints a table with the load average and writes bench/results/sentiment_serving.json.
Goals: batched throughput >= 0.8x the batched ceiling; p99 < 50 ms for single texts at 10 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
import uuid

import httpx
import numpy as np
from threadpoolctl import ThreadpoolController

from bench.report import Measurement, Report, Stopwatch, load_average
from lakehouse.settings import Settings, load_settings
from models.sentiment.data import load_sources
from models.sentiment.registry import train_and_register
from models.sentiment.scorer import SentimentScorer, load_champion
from serving.registry import served_model
from serving.sentiment.model_threads import MODEL_THREADS
from serving.sentiment.service import MAX_MODEL_BATCH, SentimentService
from serving.server import start_server

WARMUP_REQUESTS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_texts(settings: Settings, count: int, seed: int = 7) -> list[str]:
    """``count`` real sentences from the training sources, in a random order (lengths as they come)."""
    texts = load_sources(settings.shared_data_dir)["text"].tolist()
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.choice(len(texts), size=count, replace=count > len(texts))]


def percentiles_ms(latencies_s: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(latencies_s) * 1000, [50, 99])
    return float(p50), float(p99)


def ceiling(scorer: SentimentScorer, requests: list[list[str]], threads: int | None) -> tuple[list[float], float]:
    """One ``predict`` per request, sequentially, in this process: what the service does minus serving (with the
    service's BLAS thread limit, or the library default when ``threads`` is None)."""
    latencies = []
    with ThreadpoolController().limit(limits=threads, user_api="blas"), Stopwatch() as total:
        for texts in requests:
            started = time.perf_counter()
            scorer.predict(texts)
            latencies.append(time.perf_counter() - started)
    return latencies, total.seconds


async def _post_all(url: str, api_key: str, bodies: list[dict], concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        async def post(body: dict) -> None:
            async with gate:
                started = time.perf_counter()
                response = await client.post("/score", json=body)
                latencies.append(time.perf_counter() - started)
            response.raise_for_status()

        await asyncio.gather(*(post(body) for body in bodies))
    return latencies


def over_http(url: str, api_key: str, requests: list[list[str]], concurrency: int) -> tuple[list[float], float]:
    bodies = [{"text": texts[0]} if len(texts) == 1 else {"texts": texts} for texts in requests]
    asyncio.run(_post_all(url, api_key, bodies[:WARMUP_REQUESTS], concurrency))
    with Stopwatch() as total:
        latencies = asyncio.run(_post_all(url, api_key, bodies, concurrency))
    return latencies, total.seconds


def measure(report: Report, name: str, requests: list[list[str]], run, baseline: str, is_baseline: bool = False):
    latencies, seconds = run(requests)
    p50, p99 = percentiles_ms(latencies)
    texts = sum(len(texts) for texts in requests)
    compare = None if is_baseline else baseline
    report.add(Measurement(name, texts, seconds, "texts", is_baseline, compare_to=compare, p50_ms=p50, p99_ms=p99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--singles", type=int, default=300, help="single-text requests per concurrency level")
    parser.add_argument("--batches", type=int, default=20, help="batched requests per concurrency level")
    parser.add_argument("--batch-size", type=int, default=100, help="texts per batched request")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated client concurrency levels")
    parser.add_argument("--sample", type=int, default=300, help="training rows per source")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-sentiment-serving-") as home:
        overrides = {"home": home, "sentiment_api_key": f"bench-{uuid.uuid4().hex}"}
        settings = Settings(**load_settings().model_dump(exclude={"home"}) | overrides)
        print(f"training on {args.sample} rows per source, registering in {settings.mlflow_uri}", flush=True)
        train_and_register(settings, sample=args.sample, progress=lambda line: None)
        scorer = load_champion(settings)
        texts = bench_texts(settings, args.singles + args.batches * args.batch_size)
        singles = [[text] for text in texts[: args.singles]]
        rest = texts[args.singles :]
        batches = [rest[i : i + args.batch_size] for i in range(0, len(rest), args.batch_size)]
        server = start_server(settings, served_model("sentiment"), port)
        print(f"sentiment service up in {server.started_in_s:.1f}s on {server.url}", flush=True)
        report = Report("sentiment_serving", {})
        load_before = load_average()
        try:
            ceiling(scorer, batches[:1] + singles[:WARMUP_REQUESTS], MODEL_THREADS)
            batched_ceiling = f"ceiling: predict {args.batch_size} texts per call, in-process"
            in_process = lambda r: ceiling(scorer, r, MODEL_THREADS)  # noqa: E731
            measure(report, batched_ceiling, batches, in_process, "", is_baseline=True)
            measure(report, "ceiling: predict 1 text per call, in-process", singles, in_process, batched_ceiling)
            default_threads = lambda r: ceiling(scorer, r, None)  # noqa: E731
            name = f"in-process, {args.batch_size} per call, default BLAS threads"
            measure(report, name, batches, default_threads, batched_ceiling)
            key = settings.sentiment_api_key
            for level in levels:
                print(f"  HTTP at concurrency {level}", flush=True)
                http = lambda r, level=level: over_http(server.url, key, r, level)  # noqa: E731
                measure(report, f"POST /score 1 text, {level} concurrent", singles, http, batched_ceiling)
                name = f"POST /score {args.batch_size} texts, {level} concurrent"
                measure(report, name, batches, http, batched_ceiling)
        finally:
            server.stop()
    report.parameters.update(
        {
            "single_requests_per_level": args.singles,
            "batched_requests_per_level": args.batches,
            "batch_size": args.batch_size,
            "concurrency": levels,
            "model": f"sentiment v{scorer.model_version}: MiniLM (numpy) embeddings + logistic regression",
            "adaptive_batching": SentimentService.apis["score_batch"].batchable,
            "max_model_batch": MAX_MODEL_BATCH,
            "model_blas_threads": MODEL_THREADS,
            "bentoml_workers": 1,
            "load_average_before": load_before,
            "load_average_after": load_average(),
        }
    )
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
