"""Social write throughput: posts/s through the social app (8 HTTP clients; PostgreSQL + outbox, post document,
moderation off) beside two baselines measured in the same run: bare PostgreSQL insert+commit, and bare Cassandra
inserts into the feed table. Prints the 1-minute load average with each, since the machine is shared.

    .venv/bin/python -m bench.social_write --posts 1000 --http-workers 8

Needs the local stack and `lakehouse bootstrap`.
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import uvicorn

from ingest.core.api_keys import dev_key
from ingest.core.cassandra import open_session
from ingest.social.app import create_app
from ingest.social.feed_keys import entry_id
from lakehouse.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rate(count: int, run) -> tuple[float, float]:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started), os.getloadavg()[0]


def through_app(settings: Settings, posts: int, workers: int) -> tuple[float, float]:
    port, run_id = _free_port(), uuid.uuid4().hex[:8]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, moderation=False), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    base, author = f"http://127.0.0.1:{port}", f"bench-{run_id}"
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {dev_key('social')}"}) as client:
        client.post("/users", json={"user_id": author, "handle": author, "email": f"{author}@bench.test"})

        def post(n: int) -> None:
            body = {"post_id": f"{run_id}-{n}", "author_id": author, "text": f"bench post {n} #bench"}
            assert client.post("/posts", json=body).status_code == 201

        result = _rate(posts, lambda: list(ThreadPoolExecutor(workers).map(post, range(posts))))
    server.should_exit = True
    return result


def bare_postgres(settings: Settings, rows: int) -> tuple[float, float]:
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_posts (post_id text PRIMARY KEY, text text, at timestamptz)")

        def run() -> None:
            for n in range(rows):
                with conn.transaction():
                    conn.execute("INSERT INTO bench_posts VALUES (%s, %s, now())", (f"p{n}", "bench post"))

        return _rate(rows, run)


def bare_cassandra(settings: Settings, rows: int) -> tuple[float, float]:
    with open_session(settings) as session:
        insert = session.prepare(
            "INSERT INTO social_home_feed (user_id, day, entry_id, post_id, author_id) VALUES (?, ?, ?, ?, ?)"
        )
        user, now = f"bench-{uuid.uuid4().hex[:8]}", datetime.now(UTC)

        def run() -> None:
            for n in range(rows):
                session.execute(insert, (user, "2000-01-01", entry_id(f"p{n}", now), f"p{n}", user))

        return _rate(rows, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--http-workers", type=int, default=8)
    args = parser.parse_args()
    settings = Settings()
    for name, (rate, load) in {
        f"social app, {args.http_workers} HTTP clients": through_app(settings, args.posts, args.http_workers),
        "bare PostgreSQL insert+commit": bare_postgres(settings, args.posts),
        "bare Cassandra insert": bare_cassandra(settings, args.posts),
    }.items():
        print(f"{name:<40} {rate:>9.0f} /s   load average {load:.2f}")


if __name__ == "__main__":
    main()
