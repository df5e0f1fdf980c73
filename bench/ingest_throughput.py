"""Ingest throughput: orders/s through the e-commerce app (outbox + relay to Kafka), beside two baselines
measured in the same run: a bare kafka-python producer (acks=all) and bare PostgreSQL inserts (one per commit).

    .venv/bin/python -m bench.ingest_throughput --orders 2000 --http-workers 8

Needs the local stack (`lakehouse stack up && lakehouse bootstrap`). Prints a table and writes
bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import psycopg
import uvicorn
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql

from bench.report import Measurement, Report, Stopwatch
from ingest.core.envelope import EventEnvelope
from ingest.core.relay import relay_pass
from ingest.ecommerce.app import create_app
from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.relay import open_relay_sources
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings, load_settings


def order(prefix: str, run: str, customer_id: str, number: int) -> PlaceOrder:
    line = OrderLine(product_id=f"{run}-p", category="books", quantity=1 + number % 3, unit_price=Decimal("12.50"))
    return PlaceOrder(
        order_id=f"{prefix}-o{number}",
        customer_id=customer_id,
        merchant_id="m-1",
        terminal_id="t-1",
        card_number="4111111111111111",
        lines=[line],
    )


def seed_customer_and_product(settings: Settings, run: str) -> str:
    customer_id = f"{run}-c"
    with open_context(settings, actor="bench") as ctx:
        handle(
            RegisterCustomer(customer_id=customer_id, email=f"{run}@example.com", full_name="Bench", country="DE"), ctx
        )
        handle(
            UpsertProduct(
                product_id=f"{run}-p",
                sku=f"{run}-sku",
                name="Book",
                category="books",
                merchant_id="m-1",
                price=Decimal("12.50"),
            ),
            ctx,
        )
    relay_pass(settings, open_relay_sources)
    return customer_id


def bench_service(settings: Settings, run: str, customer_id: str, count: int, report: Report) -> None:
    with open_context(settings, actor="bench") as ctx, Stopwatch() as placed:
        for number in range(count):
            handle(order(run, run, customer_id, number), ctx)
    report.add(Measurement("app use case: place_order (PostgreSQL + outbox)", count, placed.seconds, "orders"))
    with Stopwatch() as relayed:
        events = relay_pass(settings, open_relay_sources)
    report.add(Measurement("relay: outbox → Kafka (+ Cassandra view)", events, relayed.seconds, "events"))
    report.add(Measurement("end to end: order placed and on Kafka", count, placed.seconds + relayed.seconds, "orders"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_http(settings: Settings, run: str, customer_id: str, count: int, workers: int, report: Report) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client, Stopwatch() as posted:

            def post(number: int) -> None:
                body = order(f"{run}-http", run, customer_id, number).model_dump(mode="json")
                client.post("/orders", json=body).raise_for_status()

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(post, range(count)))
        report.add(Measurement(f"HTTP POST /orders ({workers} clients)", count, posted.seconds, "orders"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with Stopwatch() as relayed:
        relay_pass(settings, open_relay_sources)
    report.add(
        Measurement(
            f"end to end via HTTP ({workers} clients) + relay", count, posted.seconds + relayed.seconds, "orders"
        )
    )


def bench_bare_kafka(settings: Settings, run: str, count: int, report: Report) -> None:
    payload = order(run, run, "c", 0).model_dump(mode="json")
    # A throwaway topic shaped like the domain's (3 partitions), deleted afterwards.
    topic = f"bench.{run}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True)
    try:
        with Stopwatch() as watch:
            for number in range(count):
                envelope = EventEnvelope("ecommerce.order.placed", 1, f"o{number}", payload)
                producer.send(topic, key=envelope.key.encode(), value=envelope.to_json())
            producer.flush()
    finally:
        producer.close()
        admin.delete_topics([topic])
        admin.close()
    report.add(
        Measurement("baseline: bare kafka-python producer, acks=all", count, watch.seconds, "events", is_baseline=True)
    )


def bench_bare_postgres(settings: Settings, run: str, count: int, report: Report) -> None:
    table = sql.Identifier(f"bench_{run}")
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TEMP TABLE {} (id text PRIMARY KEY, body jsonb)").format(table))
        insert = sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(table)
        with Stopwatch() as watch:
            for number in range(count):
                with conn.transaction():  # one commit per row, as one order is one transaction
                    conn.execute(insert, (f"o{number}", '{"amount": 12.5}'))
    report.add(Measurement("baseline: bare PostgreSQL INSERT, one commit each", count, watch.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--http-workers", type=int, default=8)
    args = parser.parse_args()
    settings, run = load_settings(), f"bench-{uuid.uuid4().hex[:6]}"
    report = Report("ingest_throughput", {"orders": args.orders, "http_workers": args.http_workers})
    print(f"run {run}: baselines first, then the app", flush=True)
    bench_bare_kafka(settings, run, args.orders, report)
    bench_bare_postgres(settings, run, args.orders, report)
    customer_id = seed_customer_and_product(settings, run)
    bench_service(settings, run, customer_id, args.orders, report)
    bench_http(settings, run, customer_id, args.orders, args.http_workers, report)
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
