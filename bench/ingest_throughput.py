"""Ingest throughput: orders/s through the e-commerce app (outbox + relay to Kafka), beside two baselines
measured in the same run: a bare kafka-python producer with the relay's own producer settings (acks=all,
idempotent, the same linger and batch size: `PRODUCER_BATCHING`) sending the very envelopes the relay published
(same bytes and keys, to a topic with as many partitions), and bare PostgreSQL inserts (one per commit).
Last, product events drained from their MongoDB documents beside one outbox batch of as many order events.

    .venv/bin/python -m bench.ingest_throughput --orders 2000 --http-workers 8

Needs the local stack (`lakehouse stack up && lakehouse bootstrap`). Prints a table and writes
bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import httpx
import psycopg
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql

from bench.report import Measurement, Report, Stopwatch, load_average, machine_busy_seconds
from ingest.core.api_keys import dev_key
from ingest.core.outbox import outbox_table
from ingest.core.relay import drain_outbox, open_relay, project_all, relay_documents, relay_outbox, relay_pass
from ingest.core.relay_producer import PRODUCER_BATCHING, open_producer
from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.contract import CONTRACT
from ingest.ecommerce.relay import open_relay_sources
from ingest.ecommerce.service import handle
from lakehouse.settings import PROJECT_ROOT, Settings, load_settings

DURABLE = "baseline: bare PostgreSQL INSERT + commit, logged table, WAL flushed"
BARE_KAFKA = "baseline: bare kafka-python producer, relay's batching, same envelopes"
RELAY = "relay: outbox → Kafka (+ Cassandra view), clients open"
RELAY_KAFKA_ONLY = "relay without the Cassandra projection"
RELAY_BATCH = 500  # the relay's default batch (`lakehouse <domain> relay --batch-size`)


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
    what = "app use case: place_order (PostgreSQL + outbox), 1 thread"
    report.add(Measurement(what, count, placed.seconds, "orders", compare_to=DURABLE))
    # Clients opened first, as `lakehouse ecommerce relay` opens them once for its lifetime (the bare producer is
    # created before its stopwatch too); the pass drains the whole outbox, other runs' leftovers included.
    with open_relay(settings, open_relay_sources) as (sources, producer):
        fetch_metadata(producer)
        with Stopwatch() as relayed:
            events = drain_outbox(sources, producer)
    report.add(Measurement(RELAY, events, relayed.seconds, "events", compare_to=BARE_KAFKA, notes=relayed.cpu_note))
    report.add(Measurement("end to end: order placed and on Kafka", count, placed.seconds + relayed.seconds, "orders"))
    bench_relay_parts(settings, run, customer_id, count, report)


def fetch_metadata(producer: KafkaProducer) -> None:
    """The e-commerce topics' metadata, fetched before timing as the bare baseline's is: a running relay has it
    (a first send to each topic otherwise waits ~20 ms for it)."""
    for topic in CONTRACT.entities.values():
        producer.partitions_for(topic)


def bench_relay_parts(settings: Settings, run: str, customer_id: str, count: int, report: Report) -> None:
    """Where the relay's time goes: ``count`` more orders drained with the Cassandra projection left out (sends,
    acks and marks only, as the bare producer baseline does plus the outbox bookkeeping), then the same events
    projected on their own, so the view ends complete, with the CPU time this process spent on it: the relay
    pays that on the same interpreter (one GIL) as its sends."""
    with open_context(settings, actor="bench") as ctx:
        for number in range(count):
            handle(order(f"{run}-split", run, customer_id, number), ctx)
    with open_relay(settings, open_relay_sources) as (sources, producer):
        fetch_metadata(producer)
        with Stopwatch() as sent:
            events = drain_outbox(replace(sources, projections=()), producer)
        with sources.pool.connection() as conn:
            texts = [
                row[0]
                for row in conn.execute(
                    sql.SQL("SELECT envelope FROM {} WHERE message_key LIKE %s ORDER BY id").format(
                        outbox_table(sources.domain)
                    ),
                    (f"{run}-split%",),
                )
            ]
        with Stopwatch() as projected:
            for start in range(0, len(texts), RELAY_BATCH):
                for wait in project_all(sources.projections, texts[start : start + RELAY_BATCH]):
                    wait()
    report.add(
        Measurement(RELAY_KAFKA_ONLY, events, sent.seconds, "events", compare_to=BARE_KAFKA, notes=sent.cpu_note)
    )
    view = "Cassandra projection alone, same events"
    report.add(Measurement(view, len(texts), projected.seconds, "events", compare_to="", notes=projected.cpu_note))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile_ms(seconds: list[float], pct: int) -> float:
    ordered = sorted(seconds)
    return 1000 * ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


APP = [sys.executable, "-m", "entrypoints.cli", "ecommerce", "serve", "--no-fraud-scoring"]
NOOP_NAME = "baseline: do-nothing FastAPI POST /orders, same body model"
NOOP_APP = [sys.executable, "-m", "uvicorn", "bench.noop_orders_app:app", "--log-level", "warning"]


def start_app(port: int, workers: int, command: list[str] = APP) -> subprocess.Popen:
    """``lakehouse ecommerce serve`` in its own processes (as a person runs it), not in the clients' interpreter."""
    app = subprocess.Popen([*command, "--port", str(port), "--workers", str(workers)], cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    app.kill()
    raise RuntimeError(f"the e-commerce app did not answer on port {port} within 60 s")


def bench_http(
    settings: Settings, run: str, customer_id: str, count: int, clients: int, workers: int, report: Report
) -> None:
    post_orders(run, customer_id, count, clients, workers, report, NOOP_APP)
    post_orders(run, customer_id, count, clients, workers, report, APP)
    with Stopwatch() as relayed:
        relay_pass(settings, open_relay_sources)
    what = f"relay of the HTTP orders ({clients} clients)"
    report.add(Measurement(what, count, relayed.seconds, "orders", compare_to=BARE_KAFKA))


def post_orders(
    run: str, customer_id: str, count: int, clients: int, workers: int, report: Report, command: list[str]
) -> None:
    """``count`` orders posted by ``clients`` threads to the app ``command`` starts; its rate and latencies."""
    baseline = command is NOOP_APP
    port = free_port()
    app = start_app(port, workers, command)
    latencies: list[float] = []
    try:
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                timeout=30,
                headers={"Authorization": f"Bearer {dev_key('ecommerce')}"},
            ) as client,
            Stopwatch() as posted,
        ):
            busy_before = machine_busy_seconds()

            def post(number: int) -> None:
                body = order(f"{run}-http", run, customer_id, number).model_dump(mode="json")
                started = time.perf_counter()
                client.post("/orders", json=body).raise_for_status()
                latencies.append(time.perf_counter() - started)

            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(post, range(count)))
            busy = machine_busy_seconds() - busy_before
        shape = f"({clients} clients, {workers} app workers)"
        what = f"{NOOP_NAME} {shape}" if baseline else f"HTTP POST /orders {shape}"
        p50, p99 = percentile_ms(latencies, 50), percentile_ms(latencies, 99)
        compare_to = "" if baseline else f"{NOOP_NAME} {shape}"
        cores = os.cpu_count() or 1
        # The clients are this process; what the machine spent besides them is the server side's (app, databases).
        served, clients_ms = busy - posted.cpu_seconds, 1000 * posted.cpu_seconds / count
        notes = (
            f"machine CPU {1000 * busy / count:.2f} ms per order, of which the clients {clients_ms:.2f}"
            f" and the server side (app, databases) {1000 * served / count:.2f}: at most "
            f"{cores * count / served:,.0f} orders/s on {cores} cores with the clients elsewhere; "
            f"{busy / (cores * posted.seconds):.0%} of the cores busy"
        )
        measured = Measurement(what, count, posted.seconds, "orders", compare_to=compare_to, p50_ms=p50, p99_ms=p99)
        report.add(replace(measured, notes=notes))
    finally:
        app.terminate()
        app.wait(timeout=30)


def bench_bare_kafka(settings: Settings, run: str, report: Report) -> None:
    """The same producer factory and batching as the relay (`PRODUCER_BATCHING`), sending the envelopes the relay
    published for this run's orders, byte for byte with their keys: what the relay would do with no database, no
    projection and no bookkeeping."""
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT message_key, envelope FROM {} WHERE message_key LIKE %s ORDER BY id").format(
                outbox_table("ecommerce")
            ),
            (f"{run}-o%",),
        ).fetchall()
    messages = [(key.encode(), envelope.encode()) for key, envelope in rows]
    topic = f"bench.{run}"  # a throwaway topic shaped like the orders topic (as many partitions), deleted after
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        with open_producer(settings, "bench-bare-producer") as producer:
            partitions = len(producer.partitions_for(CONTRACT.entities["orders"]))
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
            producer.partitions_for(topic)  # metadata fetched before timing, as a running relay has it
            with Stopwatch() as watch:
                for key, value in messages:
                    producer.send(topic, key=key, value=value)
                producer.flush()
    finally:
        admin.delete_topics([topic])
        admin.close()
    batching = ", ".join(f"{name}={value}" for name, value in PRODUCER_BATCHING.items())
    size = sum(len(value) for _, value in messages) / max(len(messages), 1)
    notes = f"{batching}; the relay's envelopes, {size:.0f} bytes on average; {partitions} partitions; {watch.cpu_note}"
    report.add(Measurement(BARE_KAFKA, len(messages), watch.seconds, "events", is_baseline=True, notes=notes))


def bench_product_relay(settings: Settings, run: str, count: int, report: Report) -> None:
    """Product events wait inside their MongoDB documents: ``count`` upserts, then the relay drains them (markers
    read, each product read by _id, Kafka, bulk unsets), beside one outbox batch of as many orders."""
    commands = [
        UpsertProduct(
            product_id=f"{run}-cat-{number}",
            sku=f"{run}-cat-sku-{number}",
            name="Book",
            category="books",
            merchant_id="m-1",
            price=Decimal("9.90"),
        )
        for number in range(count)
    ]
    with open_context(settings, actor="bench") as ctx:
        customer_id = f"{run}-c"
        for command in commands:
            handle(command, ctx)
        for number in range(count):
            handle(order(f"{run}-batch", run, customer_id, number), ctx)
    with open_relay(settings, open_relay_sources) as (sources, producer):
        with Stopwatch() as documents:
            published = sum(relay_documents(docs, producer, batch_size=count) for docs in sources.documents)
        with Stopwatch() as outbox:
            batch = relay_outbox(sources, producer, batch_size=count)
    outbox_name = f"relay: one outbox batch (PostgreSQL, {count} rows asked)"
    report.add(Measurement(outbox_name, batch, outbox.seconds, "events", compare_to=""))
    report.add(
        Measurement(
            f"relay: product events from MongoDB documents ({count} upserts)",
            published,
            documents.seconds,
            "events",
            compare_to=outbox_name,
        )
    )


def bench_bare_postgres(settings: Settings, run: str, count: int, report: Report) -> None:
    """Two baselines: a logged table is the durable bound (each commit waits for its WAL flush, as an order's
    does); a temporary table writes no WAL, so it shows the round trips alone and is no bound for a durable write."""
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        for kind, what in (("TEMP", "temporary table, no WAL"), ("", "logged table, WAL flushed")):
            table = sql.Identifier(f"bench_{run.replace('-', '_')}_{kind.lower() or 'logged'}")
            conn.execute(sql.SQL("CREATE {} TABLE {} (id text PRIMARY KEY, body jsonb)").format(sql.SQL(kind), table))
            insert = sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(table)
            try:
                with Stopwatch() as watch:
                    for number in range(count):  # one commit per row, as one order is one transaction
                        conn.execute(insert, (f"o{number}", '{"amount": 12.5}'))
            finally:
                conn.execute(sql.SQL("DROP TABLE {}").format(table))
            name = f"baseline: bare PostgreSQL INSERT + commit, {what}"
            report.add(Measurement(name, count, watch.seconds, is_baseline=not kind))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--http-workers", type=int, default=8)
    parser.add_argument("--products", type=int, default=200, help="product upserts drained by the relay")
    parser.add_argument("--app-workers", type=int, default=2, help="HTTP app worker processes")
    args = parser.parse_args()
    settings, run = load_settings(), f"bench-{uuid.uuid4().hex[:6]}"
    report = Report(
        "ingest_throughput", {"orders": args.orders, "http_workers": args.http_workers, "products": args.products}
    )
    load_before = load_average()
    print(f"run {run}: PostgreSQL's baselines first, then the app, then the bare producer", flush=True)
    bench_bare_postgres(settings, run, args.orders, report)
    customer_id = seed_customer_and_product(settings, run)
    bench_service(settings, run, customer_id, args.orders, report)
    bench_bare_kafka(settings, run, report)  # sends what the relay just published
    bench_http(settings, run, customer_id, args.orders, args.http_workers, args.app_workers, report)
    bench_product_relay(settings, run, args.products, report)
    report.parameters |= {"load_average_before": load_before, "load_average_after": load_average()}
    report.print_table()
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_average()}")
    report.save()


if __name__ == "__main__":
    main()
