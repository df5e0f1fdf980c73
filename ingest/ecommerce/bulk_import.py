"""Import a large transaction history fast: the importer's rows, commands and order of events, written in batches.

The CSV is read, validated and turned into commands exactly as ``importer.import_csv`` does (``parse_transaction``,
``order_commands``, customers and products on first sight, chargebacks at their filing time via ``OrderStream``).
Instead of one transaction per command, every ``batch_size`` rows the commands' rows and events are staged by
COPY and inserted in one transaction (``bulk_store.apply_batch``); a thread writes one batch while the next is
built, so Python and PostgreSQL work at the same time. Products live in MongoDB: each distinct one goes through
the ``upsert_product`` use case when first seen, before the batch holding its first order is written.

Resumable: each batch commits a checkpoint (commands and rows done) keyed by the file's and options' hash. A
restarted import rebuilds the command stream (cheap: no fingerprints, events or SQL) and skips the commands
already committed; even without the checkpoint, ids make every insert idempotent, so nothing is added twice.
Rows rejected by the database (an id reused with other content) in batches committed before a restart are not
listed again in the rejects file of the run that resumes.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import psycopg

from ingest.core.bulk import read_checkpoint
from ingest.core.progress import Progress, ProgressMeter
from ingest.ecommerce import bulk_store
from ingest.ecommerce.bulk_batch import BatchBuilder
from ingest.ecommerce.bulk_feed import CommandFeed
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.contract import DOMAIN
from ingest.ecommerce.importer import ImportSummary, _reject, _Shop, parsed_history
from ingest.ecommerce.transaction_rows import ImportOptions

DEFAULT_BATCH_ROWS = 5_000


@dataclass
class BulkSummary(ImportSummary):
    inserted_orders: int = 0  # new in the database; the rest of ``orders`` were there already or rejected
    events: int = 0  # appended to the outbox
    resumed_at_row: int = 0  # rows a previous run had committed (0: a fresh import)
    database_rejects: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): ids reused

    def describe(self) -> str:
        resumed = f", resumed after row {self.resumed_at_row}" if self.resumed_at_row else ""
        return f"{super().describe()}; bulk: {self.inserted_orders} new orders, {self.events} events{resumed}"


def import_key(path: Path, options: ImportOptions) -> str:
    """The file's bytes and every option that shapes its commands: what a checkpoint is valid for."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    shaping = asdict(replace(options, rejects_path=None, progress_every=0))
    digest.update(repr(sorted(shaping.items())).encode())
    return digest.hexdigest()


def bulk_import_csv(
    path: Path | str,
    ctx: EcommerceContext,
    progress: Progress | None = None,
    options: ImportOptions | None = None,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    after_batch: Progress | None = None,
) -> BulkSummary:
    """Import ``path`` in batches of ``batch_rows`` rows; see the module docstring. ``after_batch`` is told
    each committed batch (tests use it to stop an import half way)."""
    path, options = Path(path), options or ImportOptions()
    summary = BulkSummary(rejects_path=options.rejects_path or path.with_name(f"{path.stem}.rejects.csv"))
    checkpoint = bulk_store.Checkpoint(import_key(path, options), str(path))
    meter = ProgressMeter(progress, every=options.progress_every)
    with ctx.pool.connection() as conn, _autocommit(conn), ThreadPoolExecutor(1, thread_name_prefix="bulk") as writer:
        commands_done, summary.resumed_at_row = read_checkpoint(conn, DOMAIN, checkpoint.import_key)
        bulk_store.prepare(conn)
        builder = BatchBuilder(ctx.card_token_key)
        feed = CommandFeed(builder, ctx, skip=commands_done)
        pending: Future[bulk_store.BatchResult] | None = None

        def flush(finished: bool) -> None:
            nonlocal pending
            batch = builder.take()
            batch.commands_end, batch.rows_end = feed.consumed, summary.rows
            _collect(pending, summary, after_batch)
            pending = writer.submit(bulk_store.apply_batch, conn, batch, ctx.actor, checkpoint, finished)
            meter.update(summary.rows, lambda: _progress_line(summary, meter))

        with parsed_history(path, options, summary) as parsed:
            shop = _Shop(feed, summary, options.country)
            for line, tx, commands in parsed:
                feed.at_row(line, commands)
                shop.add(tx, commands)
                if builder.batch.rows >= batch_rows:
                    flush(finished=False)
            summary.chargebacks_pending = shop.stream.finish(options.known_at)
            flush(finished=True)
            _collect(pending, summary, after_batch)
    summary.chargebacks_emitted = summary.commands["FileChargeback"]
    summary.elapsed_seconds = meter.elapsed()
    meter.finish(lambda: _progress_line(summary, meter))
    _write_database_rejects(path, summary)  # from here on counted in ``rejected`` (and listed in ``rejects``)
    return summary


@contextmanager
def _autocommit(conn: psycopg.Connection) -> Iterator[None]:
    """Each batch is its own ``conn.transaction()``; the pooled connection goes back as it came."""
    conn.autocommit = True
    try:
        yield
    finally:
        conn.autocommit = False


def _collect(
    pending: Future[bulk_store.BatchResult] | None, summary: BulkSummary, after_batch: Progress | None
) -> None:
    """Wait for the batch being written (re-raising its error) and count what it did."""
    if pending is None:
        return
    result = pending.result()
    summary.inserted_orders += result.orders
    summary.events += result.events
    summary.database_rejects.extend(result.rejects)
    if after_batch is not None:
        after_batch(f"batch committed: {result.orders} orders, {result.events} events")


def _write_database_rejects(path: Path, summary: BulkSummary) -> None:
    """Add the rows the database refused to the rejects file, as they are in the input (few: read them again)."""
    if not summary.database_rejects or summary.rejects_path is None:
        return
    reasons = dict(summary.database_rejects)
    with path.open(newline="", encoding="utf-8-sig") as source, summary.rejects_path.open("a", newline="") as out:
        reader, rejects = csv.reader(source), csv.writer(out)
        for values in reader:
            if reader.line_num in reasons:
                _reject(summary, rejects, values, reader.line_num, reasons[reader.line_num])


def _progress_line(summary: BulkSummary, meter: ProgressMeter) -> str:
    return (
        f"rows {summary.rows} ({meter.per_second(summary.rows):.0f}/s), orders {summary.orders} "
        f"({summary.inserted_orders} new), rejected {summary.rejected + len(summary.database_rejects)}, "
        f"events {summary.events}"
    )
