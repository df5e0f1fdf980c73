"""HTTP load for bench/fraud_serving.py: POST bodies to a route from a fixed number of concurrent clients, timing
each request; a request that fails (an HTTP error, a dropped connection) is counted, not fatal to the run."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np

from bench.report import Stopwatch


@dataclass
class Load:
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)  # of the successful requests
    answers: list[dict] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def percentiles_ms(self) -> tuple[float | None, float | None, float | None]:
        """p50, p99 and the slowest request, in milliseconds (None without a successful request)."""
        if not self.latencies_s:
            return None, None, None
        p50, p99, slowest = np.percentile(np.asarray(self.latencies_s) * 1000, [50, 99, 100])
        return float(p50), float(p99), float(slowest)

    def notes(self) -> str:
        slowest = self.percentiles_ms()[2]
        failed = ", ".join(f"{count} {kind}" for kind, count in self.failures.most_common()) or "none"
        return f"slowest {slowest:.1f} ms; failed: {failed}" if slowest is not None else f"failed: {failed}"


async def _post_all(url: str, api_key: str, route: str, bodies: list[dict], concurrency: int) -> Load:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    load = Load()
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def post(body: dict) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    response = await client.post(route, json=body)
                except httpx.HTTPError as error:
                    load.failures[type(error).__name__] += 1
                    return
                if response.is_error:
                    load.failures[f"HTTP {response.status_code}"] += 1
                    return
                load.latencies_s.append(time.perf_counter() - started)
            load.answers.append(response.json())

        with Stopwatch() as total:
            await asyncio.gather(*(post(body) for body in bodies))
    load.seconds = total.seconds
    return load


def post_all(url: str, api_key: str, route: str, bodies: list[dict], concurrency: int, warmup: int) -> Load:
    """``warmup`` requests first (not counted: connections, the workers' first calls), then every body."""
    asyncio.run(_post_all(url, api_key, route, bodies[:warmup], concurrency))
    return asyncio.run(_post_all(url, api_key, route, bodies, concurrency))
