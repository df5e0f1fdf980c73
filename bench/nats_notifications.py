"""NATS notifications throughput: events/s from a domain's outbox through the kit's relay (Kafka + JetStream) to a
consuming domain's handler committed in PostgreSQL, beside a bare nats-py JetStream publish + pull-consume of the
same envelopes in the same run; then delivery across a consumer restart (count in = count out).

    .venv/bin/python -m bench.nats_notifications --events 2000

Needs the local stack (`lakehouse stack up && lakehouse bootstrap`). Works in a throwaway schema, topic and stream
(removed afterwards). Prints a table and writes bench/results/nats_notifications.json.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import nats
import psycopg
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql
from psycopg_pool import ConnectionPool

from bench.report import Measurement, Report, Stopwatch, load_average
from ingest.core import outbox
from ingest.core.contract import DomainContract, EventPayload
from ingest.core.envelope import EventEnvelope
from ingest.core.notifications import ConsumeReport, Subscription, run_consumers
from ingest.core.relay import RelaySources, relay_pass
from lakehouse.settings import Settings, load_settings
from stack.bootstrap.kafka_topics import TopicSpec
from stack.bootstrap.nats_streams import StreamSpec, apply_nats, domain_stream


class NoticeV1(EventPayload):
    notice_id: str
    text: str


def bench_contract(domain: str) -> DomainContract:
    topic = f"{domain}.notices"
    event_type = f"{domain}.notice.posted"
    return DomainContract(
        name=domain,
        events={(event_type, 1): (NoticeV1, topic)},
        topics=(TopicSpec(topic, 3),),
        migrations=Path(__file__).with_name("no_migrations"),  # the bench creates its schema itself
        notifications=frozenset({event_type}),
    )


@contextmanager
def throwaway_domain(settings: Settings, domain: str) -> Iterator[DomainContract]:
    """The bench domain's schema (outbox, inbox, effects), Kafka topic and stream; all dropped on exit."""
    contract = bench_contract(domain)
    schema = sql.Identifier(domain)
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        conn.execute("SELECT lakehouse_kit.create_outbox(%s), lakehouse_kit.create_inbox(%s)", (domain, domain))
        conn.execute(sql.SQL("CREATE TABLE {} (event_id text NOT NULL, notice_id text)").format(effects(domain)))
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t.name, num_partitions=t.partitions, replication_factor=1) for t in contract.topics])
    apply_nats(settings, [domain_stream(domain)], progress=lambda line: None)
    try:
        yield contract
    finally:
        asyncio.run(_delete_streams(settings, [domain_stream(domain).name]))
        admin.delete_topics([t.name for t in contract.topics])
        admin.close()
        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def effects(domain: str) -> sql.Identifier:
    return sql.Identifier(domain, "effects")


def write_outbox(pool: ConnectionPool, contract: DomainContract, run: str, start: int, count: int) -> None:
    (event_type,) = contract.notifications
    now = datetime.now(UTC)
    for first in range(start, start + count, 500):
        notices = [
            NoticeV1(notice_id=f"{run}-{i}", text="hello") for i in range(first, min(first + 500, start + count))
        ]
        events = [outbox.build_event(contract, event_type, n.notice_id, n, now) for n in notices]
        with pool.connection() as conn, conn.transaction():
            outbox.append(conn, contract.name, events)


def subscription(contract: DomainContract, stop_after: int | None = None) -> tuple[Subscription, threading.Event]:
    """The handler (one row per event) and an event set once ``stop_after`` events were handled."""
    (event_type,) = contract.notifications
    stop, handled = threading.Event(), [0]
    insert = sql.SQL("INSERT INTO {} (event_id, notice_id) VALUES (%s, %s)").format(effects(contract.name))

    def record(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
        conn.execute(insert, (envelope.event_id, envelope.payload["notice_id"]))
        handled[0] += 1
        if stop_after is not None and handled[0] >= stop_after:
            stop.set()

    return Subscription(event_type, record), stop


def consume(settings: Settings, contract: DomainContract, sub: Subscription, stop: threading.Event) -> ConsumeReport:
    return run_consumers(settings, contract.name, (sub,), until_idle=True, stop=stop)


def bench_end_to_end(
    settings: Settings, pool: ConnectionPool, contract: DomainContract, count: int, report: Report
) -> None:
    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources(contract.name, pool)

    write_outbox(pool, contract, "e2e", 0, count)
    with Stopwatch() as relayed:
        relay_pass(settings, open_sources, notifications=contract.notifications)
    sub, never = subscription(contract)
    with Stopwatch() as consumed:
        handled = consume(settings, contract, sub, never).handled
    report.add(Measurement("relay: outbox → Kafka + JetStream", count, relayed.seconds, "events"))
    report.add(Measurement("consumer: JetStream → handler committed (inbox)", handled, consumed.seconds, "events"))
    total = relayed.seconds + consumed.seconds
    report.add(Measurement("end to end: outbox → relay → JetStream → handler", handled, total, "events"))


def bench_restart(
    settings: Settings, pool: ConnectionPool, contract: DomainContract, count: int, report: Report
) -> None:
    """A consumer stopped half-way; more events published while it is down; the restarted one catches up."""

    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources(contract.name, pool)

    write_outbox(pool, contract, "restart", 0, count)
    relay_pass(settings, open_sources, notifications=contract.notifications)
    sub, stop = subscription(contract, stop_after=count // 2)
    with Stopwatch() as watch:
        first = consume(settings, contract, sub, stop).handled
        write_outbox(pool, contract, "restart", count, count)  # published while the consumer is down
        relay_pass(settings, open_sources, notifications=contract.notifications)
        sub, never = subscription(contract)
        second = consume(settings, contract, sub, never).handled
    with psycopg.connect(settings.postgres_url) as conn:
        query = sql.SQL("SELECT count(*), count(DISTINCT event_id) FROM {} WHERE notice_id LIKE 'restart-%%'")
        rows, distinct = conn.execute(query.format(effects(contract.name))).fetchone()
    published = 2 * count
    verdict = "yes" if rows == distinct == published else "NO"
    notes = f"in {published}, out {rows} ({first} before the stop, {second} after); count in = count out: {verdict}"
    report.add(
        Measurement("restart: stop half-way, publish more, catch up", rows, watch.seconds, "events", notes=notes)
    )
    print(f"  {notes}")


def bench_bare_nats(settings: Settings, run: str, count: int, report: Report) -> None:
    stream = StreamSpec(f"BENCH_{run.upper()}", (f"bench.{run}.>",))
    apply_nats(settings, [stream], progress=lambda line: None)
    texts = [EventEnvelope("bench.notice.posted", 1, f"n{i}", {"notice_id": f"n{i}"}).to_json() for i in range(count)]
    try:
        with Stopwatch() as watch:
            received = asyncio.run(_bare_round_trip(settings, f"bench.{run}.notice", stream.name, texts))
    finally:
        asyncio.run(_delete_streams(settings, [stream.name]))
    report.add(
        Measurement(
            "baseline: bare nats-py JetStream publish + pull-consume (ack)", received, watch.seconds, "events", True
        )
    )


async def _bare_round_trip(settings: Settings, subject: str, stream: str, texts: list[bytes]) -> int:
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        pending = [await js.publish_async(subject, t, headers={"Nats-Msg-Id": str(i)}) for i, t in enumerate(texts)]
        await asyncio.gather(*pending)
        consumer = await js.pull_subscribe(subject, durable="bench", stream=stream)
        received = 0
        while received < len(texts):
            for message in await consumer.fetch(100, timeout=5):
                EventEnvelope.from_json(message.data)
                await message.ack()
                received += 1
        await client.flush()
        return received
    finally:
        await client.close()


async def _delete_streams(settings: Settings, names: list[str]) -> None:
    client = await nats.connect(settings.nats_url)
    try:
        for name in names:
            await client.jetstream().delete_stream(name)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    settings, run = load_settings(), uuid.uuid4().hex[:6]
    report = Report("nats_notifications", {"events": args.events, "load_before": load_average()})
    print(f"run {run}: baseline first, then the kit", flush=True)
    bench_bare_nats(settings, run, args.events, report)
    with (
        throwaway_domain(settings, f"bench_{run}") as contract,
        ConnectionPool(settings.postgres_url, min_size=1, max_size=2, name="bench") as pool,
    ):
        bench_end_to_end(settings, pool, contract, args.events, report)
        bench_restart(settings, pool, contract, args.events // 2, report)
    report.parameters["load_after"] = load_average()
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
