"""`lakehouse cards scan`: look for card numbers in the clear everywhere the platform keeps data.

Every table of the PostgreSQL database, every record of every domain's Kafka topics and every Delta table of every
domain's lake is read as text and searched with :func:`ingest.core.cards.card_numbers_in` (13–19 digits standing
alone, a brand's issuer prefix, Luhn-valid). After tokenisation none should be left: the main job's end-to-end test
runs this scan and fails on any finding. A finding names where it is and shows the number masked (first six, last
four), so the report itself holds no card number.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import import_module

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from ingest.core.cards import card_numbers_in
from ingest.domains import DOMAINS, contract
from lakehouse.settings import Settings
from pipelines.core.inventory import arrow_dataset, open_table, table_paths
from pipelines.core.tables import domain_lake

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True)
class Finding:
    where: str  # "postgres ecommerce.orders", "kafka ecommerce.orders", "delta /…/bronze/ecommerce_orders"
    numbers: int
    example: str  # masked: 411111******1111


def masked(number: str) -> str:
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _finding(where: str, texts: Iterable[str]) -> Finding | None:
    found = [number for text in texts for number in card_numbers_in(text)]
    return Finding(where, len(found), masked(found[0])) if found else None


def scan_postgres(settings: Settings, schemas: Iterable[str] | None = None) -> Iterator[Finding]:
    """Every row of every table outside PostgreSQL's own schemas (or in ``schemas``), as its text form."""
    # Not autocommit: a server-side cursor lives in a transaction (read-only here, rolled back on close).
    with psycopg.connect(settings.postgres_url, connect_timeout=10) as conn, conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        tables = conn.execute(
            """SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s)
            AND (%s::text[] IS NULL OR table_schema = ANY(%s)) ORDER BY 1, 2""",
            (list(SYSTEM_SCHEMAS), *(2 * [None if schemas is None else list(schemas)])),
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(schema, table))
            with conn.cursor(name="card_scan") as rows:  # server-side: a large table is streamed, not loaded
                finding = _finding(f"postgres {schema}.{table}", (row[0] for row in rows.execute(query)))
            if finding:
                yield finding


def domain_topics(domains: Iterable[str] = DOMAINS) -> list[str]:
    return sorted({spec.name for domain in domains for spec in contract(domain).topics})


def _records(consumer: KafkaConsumer, topic: str) -> Iterator[str]:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        return
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if ends[tp] > consumer.position(tp)}
    while remaining:
        for tp, records in consumer.poll(timeout_ms=1000).items():
            for record in records:
                yield (
                    (record.key or b"").decode("utf-8", "replace")
                    + " "
                    + (record.value or b"").decode("utf-8", "replace")
                )
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


def scan_topics(settings: Settings, topics: Iterable[str]) -> Iterator[Finding]:
    """Every record, key and value, of ``topics`` from the earliest offset Kafka still keeps."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, consumer_timeout_ms=30_000
    )
    try:
        for topic in topics:
            finding = _finding(f"kafka {topic}", _records(consumer, topic))
            if finding:
                yield finding
    finally:
        consumer.close()


def _texts(table: pa.Table) -> Iterator[str]:
    """Each string-bearing column's values as text (nested columns as their JSON-like repr); numbers are skipped:
    a card number stored as a number would be a schema error the contracts already refuse."""
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            yield from (value for value in pc.drop_null(column).to_pylist())
        elif pa.types.is_nested(column.type):
            yield from (str(value) for value in pc.drop_null(column).to_pylist())


def lake_tables(settings: Settings, domains: Iterable[str] = DOMAINS) -> list[str]:
    paths = []
    for domain in domains:
        lakehouse = import_module(f"pipelines.{domain}.lakehouse").LAKEHOUSE
        paths += [path for *_, path in table_paths(lakehouse, domain_lake(settings, domain)) if open_table(path)]
    return paths


def scan_tables(paths: Iterable[str]) -> Iterator[Finding]:
    for path in paths:
        table = open_table(path)
        if table is None:
            continue
        for batch in arrow_dataset(table).to_batches():
            finding = _finding(f"delta {path}", _texts(pa.Table.from_batches([batch])))
            if finding:
                yield finding
                break


def scan_everything(settings: Settings) -> list[Finding]:
    return [
        *scan_postgres(settings),
        *scan_topics(settings, domain_topics()),
        *scan_tables(lake_tables(settings)),
    ]


def register(commands: argparse._SubParsersAction) -> None:
    cards = commands.add_parser("cards", help="card data: look for card numbers in the clear")
    actions = cards.add_subparsers(dest="action", required=True)
    scan = actions.add_parser("scan", help="PostgreSQL, every domain topic and every lake table; exit 1 on a find")
    scan.set_defaults(handler=cmd_scan)


def cmd_scan(settings: Settings, args: argparse.Namespace) -> int:
    findings = scan_everything(settings)
    for finding in findings:
        print(f"{finding.where}: {finding.numbers} card number(s), e.g. {finding.example}")
    if findings:
        print("README 'Card data' says how to drop history published before tokenisation")
        return 1
    print("no card number found in PostgreSQL, the domain topics or the lake")
    return 0
