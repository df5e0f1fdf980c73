"""The bulk import on the real stack: the same rows and events as the per-command path, nothing twice on a re-run,
conflicts rejected, and a killed import resumed from its checkpoint without duplicates."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.core.errors import Conflict
from ingest.domains import storage_declarations
from ingest.ecommerce.bulk_import import bulk_import_csv, import_key
from ingest.ecommerce.context import EcommerceContext, open_context
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import simulate
from ingest.ecommerce.importer import import_csv
from ingest.ecommerce.service import handle
from ingest.ecommerce.traffic import TrafficConfig
from ingest.ecommerce.transaction_csv import ColumnMapping, write_csv
from ingest.ecommerce.transaction_rows import ImportOptions
from ingest.ecommerce.transactions import Transaction
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration

# Table -> (id column, columns that hold a value derived from the prefixed id: compared through a replay instead).
TABLES = {
    "customers": ("customer_id", {"email", "full_name"}),
    "orders": ("order_id", set()),
    "order_lines": ("order_id", set()),
    "payments": ("order_id", set()),
    "chargebacks": ("order_id", set()),
}
NOT_COMPARED = {"created_at", "updated_at", "command_fingerprint"}


@pytest.fixture(scope="module")
def ctx(stack_settings: Settings) -> Iterator[EcommerceContext]:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    with open_context(stack_settings, actor="importer") as context:
        yield context


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Transaction]]:
    """60 orders over 10 days, many charged back (some within the same batch, most later); no product column, so
    one product per category, as in a handbook file."""
    fraud = FraudConfig(rate=0.2)
    config = TrafficConfig(seed=11, count=60, days=10, now=datetime(2026, 2, 1, tzinfo=UTC), fraud=fraud)
    transactions = [order.transaction for order in simulate(config)]
    path = tmp_path_factory.mktemp("bulk") / "history.csv"
    write_csv(transactions, path, mapping=ColumnMapping(product_id=""))
    return path, transactions


def per_command(ctx: EcommerceContext, path: Path, prefix: str) -> None:
    import_csv(path, None, lambda command: handle(command, ctx) and None, None, ImportOptions(id_prefix=prefix))


def table_rows(ctx: EcommerceContext, table: str, prefix: str) -> list[dict[str, Any]]:
    key, derived = TABLES[table]
    with ctx.pool.connection() as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ecommerce.{table} WHERE {key} LIKE %s", (f"{prefix}%",))  # noqa: S608
        names = [column.name for column in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    skipped = NOT_COMPARED | derived
    cleaned = [{k: _unprefixed(v, prefix) for k, v in row.items() if k not in skipped} for row in rows]
    return sorted(cleaned, key=repr)


def outbox_events(ctx: EcommerceContext, prefix: str) -> list[dict[str, Any]]:
    """The prefix's events in outbox order, without their event ids, ids unprefixed, derived identity dropped."""
    with ctx.pool.connection() as conn:
        rows = conn.execute(
            "SELECT envelope FROM ecommerce.outbox WHERE message_key LIKE %s ORDER BY id", (f"{prefix}%",)
        ).fetchall()
    events = []
    for (text,) in rows:
        envelope = json.loads(text)
        envelope.pop("event_id")
        for derived in ("email", "full_name"):
            envelope["payload"].pop(derived, None)
        events.append(_unprefixed(envelope, prefix))
    return events


def audited_inserts(ctx: EcommerceContext, prefix: str) -> dict[str, int]:
    """Orders and payments inserted by the importer, as the audit trail tells (one INSERT row each)."""
    with ctx.pool.connection() as conn:
        rows = conn.execute(
            """SELECT table_name, count(*) FROM ecommerce.audit_log WHERE action = 'INSERT' AND actor = 'importer'
            AND table_name IN ('orders', 'payments') AND after ->> 'order_id' LIKE %s GROUP BY table_name""",
            (f"{prefix}%",),
        ).fetchall()
    return dict(rows)


def _unprefixed(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, dict):
        return {k: _unprefixed(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_unprefixed(v, prefix) for v in value]
    return value


def test_bulk_path_writes_what_the_per_command_path_writes(
    ctx: EcommerceContext, history: tuple[Path, list[Transaction]], unique_name: str
) -> None:
    path, transactions = history
    by_command, by_bulk = f"{unique_name}-c-", f"{unique_name}-b-"
    per_command(ctx, path, by_command)
    summary = bulk_import_csv(path, ctx, None, ImportOptions(id_prefix=by_bulk), batch_rows=7)

    assert summary.inserted_orders == len(transactions) and summary.rejected == 0
    for table in TABLES:
        assert table_rows(ctx, table, by_bulk) == table_rows(ctx, table, by_command), table
    statuses = Counter(row["status"] for row in table_rows(ctx, "orders", by_bulk))
    charged = sum(tx.chargeback_at is not None for tx in transactions)
    assert statuses == Counter({"paid": len(transactions) - charged, "chargeback": charged}) and charged > 5
    events = outbox_events(ctx, by_bulk)
    assert events == outbox_events(ctx, by_command)
    assert audited_inserts(ctx, by_bulk) == {"orders": len(transactions), "payments": len(transactions)}
    # Fingerprints, e-mails and names: the per-command path replays every bulk-written command (a different
    # fingerprint would raise IdempotencyConflict) and adds no event.
    per_command(ctx, path, by_bulk)
    assert len(outbox_events(ctx, by_bulk)) == len(events)


def test_a_rerun_adds_nothing_even_without_its_checkpoint(
    ctx: EcommerceContext, history: tuple[Path, list[Transaction]], unique_name: str
) -> None:
    path, _ = history
    options = ImportOptions(id_prefix=f"{unique_name}-")
    first = bulk_import_csv(path, ctx, None, options, batch_rows=9)
    again = bulk_import_csv(path, ctx, None, options, batch_rows=9)
    with ctx.pool.connection() as conn:
        conn.execute("DELETE FROM ecommerce.import_checkpoints WHERE import_key = %s", (import_key(path, options),))
    forgotten = bulk_import_csv(path, ctx, None, options, batch_rows=9)

    assert first.events == len(outbox_events(ctx, options.id_prefix)) > 0
    assert (again.inserted_orders, again.events, again.resumed_at_row) == (0, 0, first.rows)
    assert (forgotten.inserted_orders, forgotten.events, forgotten.resumed_at_row) == (0, 0, 0)
    assert len(outbox_events(ctx, options.id_prefix)) == first.events


def test_an_id_reused_with_other_content_is_rejected_with_its_reason(
    ctx: EcommerceContext, history: tuple[Path, list[Transaction]], unique_name: str, tmp_path: Path
) -> None:
    path, _ = history
    options = ImportOptions(id_prefix=f"{unique_name}-")
    bulk_import_csv(path, ctx, None, options)
    lines = path.read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("TX_AMOUNT")] = "999.99"
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")

    summary = bulk_import_csv(changed, ctx, None, options)

    assert (summary.inserted_orders, summary.events, summary.rejected) == (0, 0, 1)
    assert summary.rejects[0].line == 2 and "already created by a different PlaceOrder" in summary.rejects[0].reason
    assert re.search(r"^2,order .* different PlaceOrder", (tmp_path / "changed.rejects.csv").read_text(), re.M)
    with pytest.raises(Conflict):  # the per-command path refuses the same row
        per_command(ctx, changed, options.id_prefix)


class Killed(Exception):
    pass


def test_a_killed_import_resumes_and_duplicates_nothing(
    ctx: EcommerceContext, history: tuple[Path, list[Transaction]], unique_name: str
) -> None:
    path, transactions = history
    options = ImportOptions(id_prefix=f"{unique_name}-")
    committed: list[str] = []

    def die_after_two(line: str) -> None:
        committed.append(line)
        if len(committed) == 2:
            raise Killed

    with pytest.raises(Killed):
        bulk_import_csv(path, ctx, None, options, batch_rows=8, after_batch=die_after_two)
    resumed = bulk_import_csv(path, ctx, None, options, batch_rows=8)

    assert 0 < resumed.resumed_at_row < len(transactions)
    customers = len({tx.customer_id for tx in transactions})
    charged = sum(tx.chargeback_at is not None for tx in transactions)
    events = outbox_events(ctx, options.id_prefix)
    assert len(events) == customers + 3 * len(transactions) + 2 * charged
    assert len({json.dumps(event, sort_keys=True) for event in events}) == len(events)
    assert len(table_rows(ctx, "orders", options.id_prefix)) == len(transactions)
