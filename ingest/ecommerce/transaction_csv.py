"""The CSV layout of transaction histories: which column holds which field, and a writer for generated traffic.

Default column names are those of the fraud-detection handbook's simulated dataset (TRANSACTION_ID, TX_DATETIME,
CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT, TX_FRAUD) plus optional columns the generator also writes. A mapping such
as ``transaction_id=tx_id,timestamp=ts`` renames them; ``fraud=`` (empty) ignores a column the file has.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.core.column_mapping import ColumnMapping as KitColumnMapping
from ingest.ecommerce.transactions import Transaction


@dataclass(frozen=True)
class ColumnMapping(KitColumnMapping):
    """Field -> CSV column. The first five (and terminal_id or merchant_id) are required; the rest are optional."""

    transaction_id: str = "TRANSACTION_ID"
    timestamp: str = "TX_DATETIME"
    customer_id: str = "CUSTOMER_ID"
    terminal_id: str = "TERMINAL_ID"
    amount: str = "TX_AMOUNT"
    fraud: str = "TX_FRAUD"
    merchant_id: str = "MERCHANT_ID"
    category: str = "CATEGORY"
    currency: str = "CURRENCY"
    card_number: str = "CARD_NUMBER"
    product_id: str = "PRODUCT_ID"
    chargeback_at: str = "CHARGEBACK_DATETIME"
    chargeback_reason: str = "CHARGEBACK_REASON"


REQUIRED_FIELDS = ("transaction_id", "timestamp", "customer_id", "amount")


def transaction_row(tx: Transaction, known_at: datetime | None) -> dict[str, str]:
    """The row a shop's export would hold for ``tx`` at ``known_at``: a later chargeback is not known yet."""
    chargeback_known = tx.chargeback_at is not None and (known_at is None or tx.chargeback_at <= known_at)
    return {
        "transaction_id": tx.transaction_id,
        "timestamp": tx.placed_at.isoformat(),
        "customer_id": tx.customer_id,
        "terminal_id": tx.terminal_id,
        "amount": str(tx.amount),
        "fraud": "1" if tx.is_fraud else "0",
        "merchant_id": tx.merchant_id,
        "category": tx.category,
        "currency": tx.currency,
        "card_number": tx.card_number,
        "product_id": tx.product_id,
        "chargeback_at": tx.chargeback_at.isoformat() if chargeback_known and tx.chargeback_at else "",
        "chargeback_reason": tx.chargeback_reason if chargeback_known and tx.chargeback_at else "",
    }


def write_csv(
    transactions: Iterable[Transaction],
    path: Path,
    *,
    known_at: datetime | None = None,
    mapping: ColumnMapping | None = None,
) -> int:
    """Write ``transactions`` in the importer's format; returns the number of rows written."""
    columns = {name: column for name, column in (mapping or ColumnMapping()).columns().items() if column}
    written = 0
    with Path(path).open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns.values()))
        writer.writeheader()
        for tx in transactions:
            row = transaction_row(tx, known_at)
            writer.writerow({column: row[name] for name, column in columns.items()})
            written += 1
    return written
