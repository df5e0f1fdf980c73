"""Bulk import throughput: CSV rows/s into PostgreSQL + outbox (order, line, payment, chargeback, customers and
their events), beside baselines measured in the same run: a bare COPY of the same file into a temporary table,
building the batches without a database (the Python share), and the per-command path on a sample.

    PYTHONPATH=. .venv/bin/python -m bench.bulk_import --rows 1000000

Needs the local stack (`lakehouse stack up && lakehouse bootstrap`). The CSV (handbook columns plus merchant,
category, card and chargeback; no product column, so one product per category) is generated once and cached in
/tmp. Prints a table with the load average before and after, and writes bench/results/bulk_import.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.report import Measurement, Report, Stopwatch, load_average
from ingest.core.bulk import EVENTS
from ingest.ecommerce.bulk_batch import STAGING, BatchBuilder
from ingest.ecommerce.bulk_import import bulk_import_csv
from ingest.ecommerce.context import open_context
from ingest.ecommerce.generator import simulate
from ingest.ecommerce.importer import ImportSummary, _parse_rows, import_csv
from ingest.ecommerce.service import handle
from ingest.ecommerce.traffic import TrafficConfig
from ingest.ecommerce.transaction_csv import ColumnMapping, write_csv
from ingest.ecommerce.transaction_rows import ImportOptions, resolve_columns
from lakehouse.settings import Settings, load_settings

BUILD_BATCH = 5_000
BARE_COPY = "baseline: bare COPY of the CSV into a temp table"


def history(rows: int) -> Path:
    path = Path(f"/tmp/bench_bulk_import_{rows}.csv")
    if not path.exists():
        config = TrafficConfig(seed=2026, count=rows, days=365, now=datetime(2026, 1, 1, tzinfo=UTC))
        print(f"writing {rows:,} rows to {path}", flush=True)
        write_csv((order.transaction for order in simulate(config)), path, mapping=ColumnMapping(product_id=""))
    return path


def sample(path: Path, rows: int) -> Path:
    head = path.with_name(f"{path.stem}.head{rows}.csv")
    with path.open() as source, head.open("w") as out:
        out.writelines(line for n, line in zip(range(rows + 1), source, strict=False))
    return head


def bench_bare_copy(settings: Settings, path: Path, rows: int, report: Report) -> None:
    with psycopg.connect(settings.postgres_url) as conn, Stopwatch() as watch:
        header = path.open().readline().strip().split(",")
        conn.execute(f"CREATE TEMP TABLE bench_rows ({', '.join(f'c{n} text' for n in range(len(header)))})")
        with conn.cursor().copy("COPY bench_rows FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, path.open() as f:
            while block := f.read(1 << 20):
                copy.write(block)
        conn.commit()
    report.add(Measurement(BARE_COPY, rows, watch.seconds, is_baseline=True))


def bench_build_only(settings: Settings, path: Path, rows: int, report: Report) -> None:
    """Parse, commands, fingerprints and validated events of orders and payments into COPY text, no database:
    the Python share of the bulk path (customers and chargebacks, a few percent, left out)."""
    options, builder = ImportOptions(id_prefix="build-"), BatchBuilder(settings.card_token_key)
    with path.open(newline="") as source, Stopwatch() as watch:
        reader = csv.reader(source)
        header = next(reader)
        columns, summary = resolve_columns(header, options.mapping), ImportSummary()
        for line, _, (order, payment, _) in _parse_rows(
            reader, header, columns, options, summary, csv.writer(io.StringIO())
        ):
            builder.place_order(order, line)
            builder.capture_payment(payment, line)
            if builder.batch.rows >= BUILD_BATCH:
                _ = [builder.batch.text(table) for table in (*STAGING, EVENTS)]
                builder.take()
    report.add(Measurement(f"bulk: build batches only (Python, no database), {rows:,} rows", rows, watch.seconds))


def bench_per_command(settings: Settings, path: Path, rows: int, report: Report) -> None:
    head, prefix = sample(path, rows), f"pc{uuid.uuid4().hex[:6]}-"
    with open_context(settings, actor="importer") as ctx, Stopwatch() as watch:
        import_csv(head, None, lambda c: handle(c, ctx) and None, None, ImportOptions(id_prefix=prefix))
    report.add(Measurement(f"per-command path (import_csv → handle), {rows:,} rows", rows, watch.seconds))


def backend_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of one local PostgreSQL backend process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_bulk(settings: Settings, path: Path, rows: int, batch_rows: int, report: Report) -> None:
    """The bulk import, with the CPU time it cost this process and its PostgreSQL backend: on a shared machine
    the wall time says how busy the others were; the CPU time per row says what the import costs."""
    prefix = f"bk{uuid.uuid4().hex[:6]}-"
    with open_context(settings, actor="importer", pool_size=1) as ctx:
        with ctx.pool.connection() as conn:
            backend = conn.info.backend_pid
        python_before, backend_before = time.process_time(), backend_cpu_seconds(backend)
        with Stopwatch() as watch:
            summary = bulk_import_csv(path, ctx, print, ImportOptions(id_prefix=prefix), batch_rows=batch_rows)
        python_cpu, backend_cpu = time.process_time() - python_before, backend_cpu_seconds(backend) - backend_before
    print(summary.describe())
    per_row = (
        f"CPU per row: Python {python_cpu / rows * 1e6:.0f} us, PostgreSQL backend {backend_cpu / rows * 1e6:.0f} us"
    )
    print(per_row)
    notes = f"{summary.inserted_orders} orders, {summary.events} events, batch {batch_rows} rows; {per_row}"
    report.add(Measurement("bulk import → PostgreSQL + outbox", rows, watch.seconds, notes=notes))
    # What the two processes would sustain with a core each and nobody else on the machine.
    bound = max(python_cpu, backend_cpu)
    report.add(Measurement("bulk import, CPU-time bound (busier of its 2 processes)", rows, bound, notes=per_row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=5_000)
    parser.add_argument("--per-command-rows", type=int, default=500)
    parser.add_argument("--build-rows", type=int, default=100_000, help="rows of the Python-only measurement")
    args = parser.parse_args()
    settings, path = load_settings(), history(args.rows)
    before = load_average()
    report = Report("bulk_import", {"rows": args.rows, "batch_rows": args.batch_rows, "load_before": before})
    print(f"load average before: {before}", flush=True)
    bench_bare_copy(settings, path, args.rows, report)
    bench_build_only(settings, sample(path, min(args.rows, args.build_rows)), min(args.rows, args.build_rows), report)
    bench_per_command(settings, path, args.per_command_rows, report)
    bench_bulk(settings, path, args.rows, args.batch_rows, report)
    report.parameters["load_after"] = after = load_average()
    report.print_table()
    print(f"load average before {before}, after {after}")
    report.save()


if __name__ == "__main__":
    main()
