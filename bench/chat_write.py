"""Chat write throughput: messages/s through the app over HTTP with 8 clients (PostgreSQL transaction with the
outbox and the moderation queue, then the Cassandra rows), beside bare PostgreSQL insert+commit and bare Cassandra
insert in the same run, with the machine's load average.

    .venv/bin/python -m bench.chat_write --messages 2000

By default the app queues messages for ``moderate-pending`` (no sentiment service needed); ``--moderate`` also
asks the service at LAKEHOUSE_SENTIMENT_SERVICE_URL after each commit.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import uvicorn
from psycopg import sql

from bench.ingest_throughput import free_port
from bench.report import Measurement, Report, Stopwatch, load_average
from ingest.chat.app import create_app
from ingest.chat.buckets import day_of, message_id_at
from ingest.core.api_keys import dev_key
from ingest.core.cassandra import open_session
from ingest.core.relay import relay_pass, sources_in
from ingest.domains import storage_declarations
from lakehouse.settings import Settings, load_settings
from stack.bootstrap import apply_all

TEXT = "Thanks, that was really helpful!"


def bench_bare_postgres(settings: Settings, run: str, count: int, report: Report) -> None:
    table = sql.Identifier(f"bench_{run}")
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TEMP TABLE {} (id uuid PRIMARY KEY, room text, body text)").format(table))
        insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(table)
        with Stopwatch() as watch:
            for _ in range(count):
                with conn.transaction():  # one commit per message, as one message is one transaction
                    conn.execute(insert, (uuid.uuid4(), "room", TEXT))
    report.add(
        Measurement(
            "baseline: bare PostgreSQL INSERT, one commit each", count, watch.seconds, "messages", is_baseline=True
        )
    )


def bench_bare_cassandra(settings: Settings, run: str, count: int, report: Report) -> None:
    with open_session(settings) as session:
        insert = session.prepare(
            "INSERT INTO chat_messages_by_room (room_id, day, message_id, author_id, body) VALUES (?, ?, ?, ?, ?)"
        )
        now = datetime.now(UTC)
        with Stopwatch() as watch:
            for _ in range(count):
                session.execute(insert, (f"bench-{run}", day_of(now), message_id_at(now), "u-000001", TEXT))
    report.add(
        Measurement("baseline: bare Cassandra INSERT, one at a time", count, watch.seconds, "messages", compare_to="")
    )


def seed_room(client: httpx.Client, run: str, authors: int) -> list[str]:
    users = [f"bench-{run}-u{n}" for n in range(authors)]
    for user in users:
        client.post("/users", json={"user_id": user, "display_name": user}).raise_for_status()
    room = {"room_id": f"bench-{run}", "kind": "group", "members": users[1:]}
    client.post("/rooms", json=room, headers={"X-User-Id": users[0]}).raise_for_status()
    return users


def bench_http(settings: Settings, run: str, count: int, workers: int, moderate: bool, report: Report) -> None:
    port = free_port()
    app = create_app(settings, moderation=moderate)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"Authorization": f"Bearer {dev_key('chat')}"}
        ) as client:
            users = seed_room(client, run, workers)

            def send(number: int) -> None:
                body = {"command_id": f"bench-{run}-{number}", "text": TEXT}
                headers = {"X-User-Id": users[number % len(users)]}
                client.post(f"/rooms/bench-{run}/messages", json=body, headers=headers).raise_for_status()

            with Stopwatch() as posted, ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(send, range(count)))
        report.add(Measurement(f"HTTP POST /rooms/../messages ({workers} clients)", count, posted.seconds, "messages"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with Stopwatch() as relayed:
        relay_pass(settings, sources_in("ingest.chat.relay"))
    report.add(
        Measurement(
            "relay of those events (Kafka + Cassandra/Mongo projections)",
            count,
            relayed.seconds,
            "events",
            compare_to="",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--http-workers", type=int, default=8)
    parser.add_argument("--moderate", action="store_true", help="ask the sentiment service after each commit")
    args = parser.parse_args()
    settings, run = load_settings(), uuid.uuid4().hex[:6]
    apply_all(settings, storage_declarations(), progress=lambda line: None)
    parameters = {"messages": args.messages, "http_workers": args.http_workers, "moderate": args.moderate}
    report = Report("chat_write", parameters | {"load_average_before": load_average()})
    print(f"run {run}: baselines first, then the app", flush=True)
    bench_bare_postgres(settings, run, args.messages, report)
    bench_bare_cassandra(settings, run, args.messages, report)
    bench_http(settings, run, args.messages, args.http_workers, args.moderate, report)
    report.parameters["load_average_after"] = load_average()
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
