"""Reading one CSV row of a transaction history into a ``Transaction``, or saying exactly why it cannot be read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from ingest.ecommerce.cards import card_for_customer
from ingest.ecommerce.transaction_csv import REQUIRED_FIELDS, ColumnMapping
from ingest.ecommerce.transactions import Transaction

TRUE_LABELS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_LABELS = frozenset({"", "0", "false", "no", "n", "f"})
# Payment and chargeback ids add a prefix ("pay-", "cb-") to the order id; all ids stop at 64 characters.
MAX_TRANSACTION_ID = 60
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ImportOptions:
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    country: str = "FR"  # of customers first seen in the file
    currency: str = "EUR"  # when the file has no currency column or value
    category: str = "general"  # when the file has no category column or value
    chargeback_delay_days: float = 7.0  # fraud rows without a chargeback time: filed this long after the order
    known_at: datetime | None = None  # chargebacks filed later stay pending; None: emit all
    id_prefix: str = ""  # put before every id from the file, to keep two files' "42" apart
    rejects_path: Path | None = None  # None: <input stem>.rejects.csv next to the input
    progress_every: int = 100_000

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{2}", self.country):
            raise ValueError(f"country: {self.country!r} is not a two-letter ISO code such as FR")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency: {self.currency!r} is not a three-letter ISO code such as EUR")
        if self.chargeback_delay_days < 0:
            raise ValueError("chargeback_delay_days: a chargeback cannot be filed before its order")


class RowError(ValueError):
    """A row that cannot become an order; the message names the field and the value."""


def resolve_columns(header: list[str], mapping: ColumnMapping) -> dict[str, int]:
    """Field -> position in ``header``. Required columns must exist; an optional one renamed in the mapping too."""
    position = {name.strip(): n for n, name in enumerate(header)}
    defaults = ColumnMapping().columns()
    resolved: dict[str, int] = {}
    for name, column in mapping.columns().items():
        if column in position:
            resolved[name] = position[column]
        elif column and (name in REQUIRED_FIELDS or column != defaults[name]):
            raise ValueError(f"{name}: column {column!r} is not in the header {header}; map it as {name}=<column>")
    if "terminal_id" not in resolved and "merchant_id" not in resolved:
        raise ValueError(f"terminal_id: neither a terminal nor a merchant column in the header {header}")
    return resolved


def parse_timestamp(text: str, name: str = "timestamp") -> datetime:
    """ISO 8601 (a space may separate date and time; no zone means UTC) or Unix epoch seconds."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise RowError(f"{name}: {text!r} is not an ISO 8601 time or epoch seconds") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise RowError(f"amount: {text!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise RowError(f"amount: {text!r} must be a positive number")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_label(text: str) -> bool:
    label = text.strip().lower()
    if label in TRUE_LABELS or label in FALSE_LABELS:
        return label in TRUE_LABELS
    raise RowError(f"fraud: {text!r} is not a 0/1 label")


def parse_transaction(values: list[str], columns: dict[str, int], options: ImportOptions) -> Transaction:
    """The transaction in ``values``; raises RowError naming the first field that is missing or wrong."""
    raw = {name: values[n].strip() for name, n in columns.items()}
    for name in (*REQUIRED_FIELDS, "terminal_id" if "terminal_id" in raw else "merchant_id"):
        if not raw.get(name):
            raise RowError(f"{name}: missing")
    if len(raw["transaction_id"]) + len(options.id_prefix) > MAX_TRANSACTION_ID:
        raise RowError(f"transaction_id: longer than {MAX_TRANSACTION_ID} characters")
    prefix = options.id_prefix
    placed_at = parse_timestamp(raw["timestamp"])
    terminal = raw.get("terminal_id") or raw["merchant_id"]
    category = raw.get("category") or options.category
    is_fraud = parse_label(raw.get("fraud", ""))
    customer_id = prefix + raw["customer_id"]
    return Transaction(
        transaction_id=prefix + raw["transaction_id"],
        placed_at=placed_at,
        customer_id=customer_id,
        merchant_id=prefix + (raw.get("merchant_id") or f"m-{terminal}"),
        terminal_id=prefix + terminal,
        card_number=re.sub(r"[\s-]", "", raw.get("card_number", "")) or card_for_customer(customer_id),
        product_id=prefix + (raw.get("product_id") or f"p-{category}"),
        category=category,
        amount=parse_amount(raw["amount"]),
        currency=(raw.get("currency") or options.currency).upper(),
        is_fraud=is_fraud,
        chargeback_at=_chargeback_at(raw, "chargeback_at" in columns, placed_at, is_fraud, options),
        chargeback_reason=raw.get("chargeback_reason") or "fraud",
    )


def _chargeback_at(
    raw: dict[str, str], file_knows: bool, placed_at: datetime, is_fraud: bool, options: ImportOptions
) -> datetime | None:
    """The file's chargeback time if it has the column (empty: none known), else the delay for fraud rows."""
    if not file_knows:
        return placed_at + timedelta(days=options.chargeback_delay_days) if is_fraud else None
    if not raw.get("chargeback_at"):
        return None
    filed_at = parse_timestamp(raw["chargeback_at"], "chargeback_at")
    if filed_at < placed_at:
        raise RowError(f"chargeback_at: {raw['chargeback_at']!r} is before the order ({placed_at.isoformat()})")
    return filed_at
