"""Lakehouse throughput: order events bronze → silver → gold through the real e-commerce flows (streaming from
bronze Delta, MERGE into silver, gold recomputed into Delta), beside a baseline measured in the same run: the same
parse, silver row functions and gold builders written as plain Parquet (overwrite; no MERGE, no streaming
checkpoint, no Delta log).

    .venv/bin/python -m bench.lakehouse_throughput --events 1000000

Needs no stack: the bronze tables are written straight to a temporary lake (``--lake`` to keep one) with envelopes
built by Spark SQL in the exact JSON the outbox publishes (checked against ``EventEnvelope`` before anything runs).
Prints a table and writes bench/results/lakehouse_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.report import Measurement, Report, Stopwatch, load_average
from ingest.core.envelope import EventEnvelope
from ingest.ecommerce.contract import CONTRACT, CUSTOMERS_TOPIC, EVENT_SCHEMAS, ORDERS_TOPIC
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from pipelines.core.bronze import BRONZE_COLUMNS
from pipelines.core.domain import refresh_gold
from pipelines.core.incremental import run_silver_flow
from pipelines.core.parse import classify, split
from pipelines.core.tables import DomainLake, domain_lake
from pipelines.ecommerce.flows import CUSTOMER_REGISTERED, FLOWS, ORDER_PLACED
from pipelines.ecommerce.gold import BUILDERS, GOLD_TABLES

START_EPOCH_S = int(datetime.fromisoformat("2025-01-01T00:00:00+00:00").timestamp())
DAYS = 90
CATEGORIES = ("books", "games", "garden", "home", "kitchen", "music", "sports", "toys")
COUNTRIES = ("DE", "FR", "NL", "US")
ORDERS_PER_CUSTOMER = 10
KAFKA_PARTITIONS = 3
ENTITIES = ("customers", "orders")  # the flows this benchmark feeds


def _pick(seed: int, count: int) -> Column:
    """A deterministic pseudo-random number in [0, count) per row: the data looks shuffled, re-runs match."""
    return F.pmod(F.xxhash64(F.col("id"), F.lit(seed)), F.lit(count))


def _money(cents: Column) -> Column:
    # What pydantic writes for a Decimal with two places: "12.50", never "12.5".
    return F.format_string("%d.%02d", (cents / 100).cast("long"), cents % 100)


def _iso_z(ts: Column) -> Column:
    return F.date_format(ts, "yyyy-MM-dd'T'HH:mm:ss'Z'")  # pydantic's JSON form of an aware UTC datetime


def _envelope(event: tuple[str, int], number: Column, key: Column, occurred: Column, payload: Column) -> Column:
    """``EventEnvelope.to_json()`` in Spark: fields in sorted order, compact, occurred_at from ``isoformat()``."""
    # A UUID-shaped id, unique per event type and number, the same on every run.
    stream = list(EVENT_SCHEMAS).index(event)
    event_id = F.format_string(f"00000000-0000-4000-8{stream:03d}-%012d", number)
    return F.to_json(
        F.struct(
            event_id.alias("event_id"),
            key.alias("key"),
            F.date_format(occurred, "yyyy-MM-dd'T'HH:mm:ss+00:00").alias("occurred_at"),
            payload.alias("payload"),
            F.lit(event[0]).alias("type"),
            F.lit(event[1]).alias("version"),
        )
    )


def _bronze(rows: DataFrame, topic: str) -> DataFrame:
    """Bronze columns around ``value``/``key``/``_at``, with Kafka-like partitions and offsets."""
    partition = F.pmod(F.col("id"), F.lit(KAFKA_PARTITIONS)).cast("int")
    return rows.select(
        F.col("key"),
        F.col("value"),
        F.lit(topic).alias("topic"),
        partition.alias("partition"),
        (F.col("id") / KAFKA_PARTITIONS).cast("long").alias("offset"),
        F.col("_at").alias("kafka_timestamp"),
        F.current_timestamp().alias("ingested_at"),
    ).select(*BRONZE_COLUMNS)


def customer_events(spark: SparkSession, customers: int, partitions: int) -> DataFrame:
    rows = spark.range(customers, numPartitions=partitions).withColumn(
        "_at", F.timestamp_seconds(F.lit(START_EPOCH_S - 86400) - _pick(1, 365 * 86400))
    )
    customer_id = F.concat(F.lit("c"), F.col("id").cast("string"))
    payload = F.struct(
        F.element_at(F.array(*map(F.lit, COUNTRIES)), (_pick(2, len(COUNTRIES)) + 1).cast("int")).alias("country"),
        customer_id.alias("customer_id"),
        F.format_string("c%d@example.com", F.col("id")).alias("email"),
        F.format_string("Customer %d", F.col("id")).alias("full_name"),
        _iso_z(F.col("_at")).alias("registered_at"),
    )
    value = _envelope(CUSTOMER_REGISTERED, F.col("id"), customer_id, F.col("_at"), payload)
    return _bronze(rows.select("id", "_at", customer_id.alias("key"), value.alias("value")), CUSTOMERS_TOPIC)


def _order_lines() -> Column:
    """1 to 3 lines per order, each with its price in cents kept beside it for the order total."""
    line_count = (_pick(10, 3) + 1).cast("int")

    def line(position: Column) -> Column:
        product = F.pmod(F.xxhash64(F.col("id"), position), F.lit(5000))
        return F.struct(
            F.element_at(
                F.array(*map(F.lit, CATEGORIES)), (F.pmod(product, F.lit(len(CATEGORIES))) + 1).cast("int")
            ).alias("category"),
            F.concat(F.lit("p"), product.cast("string")).alias("product_id"),
            (F.pmod(F.xxhash64(F.col("id"), position, F.lit(11)), F.lit(3)) + 1).alias("quantity"),
            (F.pmod(F.xxhash64(F.col("id"), position, F.lit(12)), F.lit(20000)) + 100).alias("cents"),
        )

    return F.transform(F.sequence(F.lit(1), line_count), line)


def order_events(spark: SparkSession, orders: int, customers: int, partitions: int) -> DataFrame:
    rows = (
        spark.range(orders, numPartitions=partitions)
        .withColumn("_at", F.timestamp_seconds(F.lit(START_EPOCH_S) + _pick(3, DAYS * 86400)))
        .withColumn("_customer", _pick(4, customers))
        .withColumn("_lines", _order_lines())
    )
    total = F.aggregate("_lines", F.lit(0).cast("long"), lambda acc, line: acc + line.quantity * line.cents)
    lines = F.transform(
        "_lines",
        lambda line: F.struct(
            line.category.alias("category"),
            line.product_id.alias("product_id"),
            line.quantity.alias("quantity"),
            _money(line.cents).alias("unit_price"),
        ),
    )
    order_id = F.concat(F.lit("o"), F.col("id").cast("string"))
    payload = F.struct(
        _money(total).alias("amount"),
        # Version 2 of the event: the card as the app's token (64 hex digits), its last four digits and brand.
        F.lit("visa").alias("card_brand"),
        F.format_string("%04d", F.col("_customer") % 10000).alias("card_last4"),
        F.sha2(F.format_string("4%015d", F.col("_customer")), 256).alias("card_token"),
        F.lit("EUR").alias("currency"),
        F.concat(F.lit("c"), F.col("_customer").cast("string")).alias("customer_id"),
        lines.alias("lines"),
        F.format_string("m%d", _pick(5, 50)).alias("merchant_id"),
        order_id.alias("order_id"),
        _iso_z(F.col("_at")).alias("placed_at"),
        F.format_string("t%d", _pick(6, max(orders // 200, 1))).alias("terminal_id"),
    )
    value = _envelope(ORDER_PLACED, F.col("id"), order_id, F.col("_at"), payload)
    return _bronze(rows.select("id", "_at", order_id.alias("key"), value.alias("value")), ORDERS_TOPIC)


def check_envelope(value: str) -> None:
    """The Spark-built text must be byte for byte what the outbox would publish for the same event."""
    parsed = EventEnvelope.from_json(value)
    payload = CONTRACT.schema_for(parsed.type, parsed.version).model_validate(parsed.payload).model_dump(mode="json")
    occurred_at = datetime.fromisoformat(parsed.occurred_at).isoformat()
    rebuilt = replace(parsed, payload=payload, occurred_at=occurred_at).to_json().decode()
    if rebuilt != value:
        raise RuntimeError(f"synthetic envelope differs from EventEnvelope.to_json():\n{value}\n{rebuilt}")


def write_bronze(spark: SparkSession, ecommerce: DomainLake, orders: int, partitions: int) -> int:
    customers = max(orders // ORDERS_PER_CUSTOMER, 1)
    frames = {
        "customers": customer_events(spark, customers, partitions),
        "orders": order_events(spark, orders, customers, partitions),
    }
    for entity, frame in frames.items():
        for row in frame.limit(3).collect():
            check_envelope(row["value"])
        frame.write.format("delta").mode("overwrite").save(ecommerce.bronze(entity))
    return orders + customers


@dataclass(frozen=True)
class Run:
    silver_s: float
    gold_s: float
    silver_rows: int
    gold_rows: int
    quarantined: int
    silver_cpu_s: float = 0.0
    gold_cpu_s: float = 0.0


def cpu_seconds(spark: SparkSession) -> float:
    """CPU time used so far by the Spark JVM (driver and local executors) and this process. On a shared machine the
    wall time of a phase swings with the neighbours' load; the CPU time it needs much less."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    jvm_ticks = int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of proc(5)
    return jvm_ticks / os.sysconf("SC_CLK_TCK") + sum(os.times()[:2])


@dataclass
class CpuClock:
    seconds: float = 0.0


@contextmanager
def cpu_clock(spark: SparkSession) -> Iterator[CpuClock]:
    clock, started = CpuClock(), cpu_seconds(spark)
    yield clock
    clock.seconds = cpu_seconds(spark) - started


def plain_silver(spark: SparkSession, ecommerce: DomainLake, out: str, fmt: str) -> int:
    """The baseline's silver: the same classify/split and row functions, each table overwritten in ``fmt``."""
    quarantined = 0
    for entity in ENTITIES:
        flow = FLOWS[entity]
        bronze = spark.read.format("delta").load(ecommerce.bronze(entity))
        # Persisted as the real flow does: one JSON parse feeds every table of the flow.
        classified = classify(bronze, flow.handled, flow.known).persist()
        parsed = split(classified, flow.handled)
        for target in flow.targets:
            rows = target.rows(parsed.events[target.event])
            rows.write.format(fmt).mode("overwrite").save(f"{out}/silver/{target.table}")
        parsed.quarantine.write.format(fmt).mode("overwrite").save(f"{out}/quarantine/{entity}")
        quarantined += spark.read.format(fmt).load(f"{out}/quarantine/{entity}").count()
        classified.unpersist()
    return quarantined


def plain_gold(spark: SparkSession, out: str, fmt: str) -> None:
    orders = spark.read.format(fmt).load(f"{out}/silver/orders")
    lines = spark.read.format(fmt).load(f"{out}/silver/order_lines")
    for table, (build, partition_by) in BUILDERS.items():
        build(orders, lines).write.format(fmt).mode("overwrite").partitionBy(*partition_by).save(f"{out}/gold/{table}")


def silver_tables() -> list[str]:
    return [target.table for entity in ENTITIES for target in FLOWS[entity].targets]


def run_plain(spark: SparkSession, ecommerce: DomainLake, out: str, fmt: str = "parquet") -> Run:
    """The baseline (``fmt`` parquet) or, with ``fmt`` delta, the same writes into Delta tables: what the Delta
    format itself costs (statistics per file, the log) apart from what the flows add (streaming checkpoint,
    deduplication, MERGE)."""
    with Stopwatch() as silver_time, cpu_clock(spark) as silver_cpu:
        quarantined = plain_silver(spark, ecommerce, out, fmt)
    with Stopwatch() as gold_time, cpu_clock(spark) as gold_cpu:
        plain_gold(spark, out, fmt)
    silver_rows = sum(spark.read.format(fmt).load(f"{out}/silver/{t}").count() for t in silver_tables())
    gold_rows = sum(spark.read.format(fmt).load(f"{out}/gold/{t}").count() for t in GOLD_TABLES)
    cpu = {"silver_cpu_s": silver_cpu.seconds, "gold_cpu_s": gold_cpu.seconds}
    return Run(silver_time.seconds, gold_time.seconds, silver_rows, gold_rows, quarantined, **cpu)


def run_delta(spark: SparkSession, ecommerce: DomainLake) -> Run:
    quarantined = 0
    with Stopwatch() as silver_time, cpu_clock(spark) as silver_cpu:
        for entity in ENTITIES:
            quarantined += run_silver_flow(spark, FLOWS[entity], ecommerce).quarantined
    with Stopwatch() as gold_time, cpu_clock(spark) as gold_cpu:
        for table, declaration in GOLD_TABLES.items():
            refresh_gold(spark, ecommerce, table, declaration)
    count = spark.read.format("delta").load
    silver_rows = sum(count(ecommerce.silver(t)).count() for t in silver_tables())
    gold_rows = sum(count(ecommerce.gold(t)).count() for t in GOLD_TABLES)
    cpu = {"silver_cpu_s": silver_cpu.seconds, "gold_cpu_s": gold_cpu.seconds}
    return Run(silver_time.seconds, gold_time.seconds, silver_rows, gold_rows, quarantined, **cpu)


@dataclass(frozen=True)
class Bronze:
    rows: int
    seconds: float  # generating and writing it: setup, not part of either figure


def measure(spark: SparkSession, root: Path, orders: int, partitions: int) -> tuple[Bronze, Run, Run, Run]:
    settings = Settings(lake_root=str(root))
    ecommerce = domain_lake(settings, "ecommerce")
    with Stopwatch() as bronze_time:
        bronze_rows = write_bronze(spark, ecommerce, orders, partitions)
    bronze = Bronze(bronze_rows, bronze_time.seconds)
    print(f"  bronze: {bronze.rows:,} events in {bronze.seconds:.1f}s under {root}; Parquet baseline next", flush=True)
    parquet = run_plain(spark, ecommerce, str(root / "parquet"))
    print(f"  Parquet: silver {parquet.silver_s:.1f}s, gold {parquet.gold_s:.1f}s; plain Delta writes next", flush=True)
    plain = run_plain(spark, ecommerce, str(root / "plain-delta"), "delta")
    print(f"  plain Delta: silver {plain.silver_s:.1f}s, gold {plain.gold_s:.1f}s; Delta flows next", flush=True)
    delta = run_delta(spark, ecommerce)
    runs = (parquet, plain, delta)
    if any(run.quarantined for run in runs):
        raise RuntimeError(f"synthetic events quarantined: {[run.quarantined for run in runs]}")
    if len({(run.silver_rows, run.gold_rows) for run in runs}) != 1:
        raise RuntimeError(f"the paths disagree on row counts: {runs}")
    return bronze, parquet, plain, delta


def add_runs(report: Report, bronze_rows: int, parquet: Run, plain: Run, delta: Run) -> None:
    layers = (
        ("silver: bronze → silver", "events", lambda r: (bronze_rows, r.silver_s)),
        ("gold: silver → gold", "rows", lambda r: (r.silver_rows, r.gold_s)),
        ("overall: bronze → gold", "events", lambda r: (bronze_rows, r.silver_s + r.gold_s)),
    )
    # The same three figures per CPU-second of the Spark JVM: steadier than wall time on a shared, loaded machine.
    layers += (
        ("silver per CPU-second", "events", lambda r: (bronze_rows, r.silver_cpu_s)),
        ("gold per CPU-second", "rows", lambda r: (r.silver_rows, r.gold_cpu_s)),
        ("overall per CPU-second", "events", lambda r: (bronze_rows, r.silver_cpu_s + r.gold_cpu_s)),
    )
    for layer, unit, figures in layers:
        baseline = f"baseline {layer}, plain Parquet"
        items, seconds = figures(parquet)
        notes = f"{parquet.silver_rows} silver rows, {parquet.gold_rows} gold rows"
        report.add(Measurement(baseline, items, seconds, unit, is_baseline=True, notes=notes))
        items, seconds = figures(plain)
        name, notes = f"{layer}, Delta, the baseline's writes", "overwrite: no checkpoint, dedupe or MERGE"
        report.add(Measurement(name, items, seconds, unit, notes=notes, compare_to=baseline))
        items, seconds = figures(delta)
        notes = f"{delta.silver_rows} silver rows, {delta.gold_rows} gold rows"
        report.add(Measurement(f"{layer}, Delta flows (MERGE)", items, seconds, unit, notes=notes, compare_to=baseline))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="order.placed events in bronze")
    parser.add_argument("--lake", type=Path, help="lake folder to use (kept); default: a temporary one")
    parser.add_argument("--partitions", type=int, default=8, help="bronze files per table")
    parser.add_argument("--warmup-events", type=int, default=5000, help="a small untimed run first (0: none)")
    # The project's default (2g) ran the Parquet baseline out of heap at 1M events; both paths get the same heap.
    parser.add_argument("--driver-memory", default="6g", help="Spark driver heap for both paths (default 6g)")
    args = parser.parse_args()
    if args.lake and args.lake.exists() and any(args.lake.iterdir()):
        parser.error(f"--lake {args.lake} is not empty: the flows' checkpoints need a fresh lake")
    with tempfile.TemporaryDirectory(prefix="bench-lakehouse-") as scratch:
        root = args.lake or Path(scratch) / "lake"
        settings = Settings(lake_root=str(root), spark_driver_memory=args.driver_memory)
        spark = spark_session(settings, app_name="bench-lakehouse-throughput")
        if args.warmup_events:
            print(f"warm-up on {args.warmup_events:,} events (JVM, code generation)", flush=True)
            measure(spark, Path(scratch) / "warmup", args.warmup_events, 2)
        load_before = load_average()
        print(f"measuring {args.events:,} order events", flush=True)
        bronze, parquet, plain, delta = measure(spark, root, args.events, args.partitions)
        spark.stop()
    counts = {"bronze_rows": bronze.rows, "silver_rows": delta.silver_rows, "gold_rows": delta.gold_rows}
    parameters = {"events": args.events, **counts, "bronze_setup_s": round(bronze.seconds, 2)}
    parameters |= {
        "partitions": args.partitions,
        "driver_memory": args.driver_memory,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    report = Report("lakehouse_throughput", parameters)
    add_runs(report, bronze.rows, parquet, plain, delta)
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
