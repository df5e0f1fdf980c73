"""Import a real transaction history from CSV as the commands a live shop would have received, in time order.

Columns (``ColumnMapping``; override with ``field=column,...``, e.g. ``transaction_id=tx_id,timestamp=ts``):

=================  ====================  =========================================================================
field              default column        meaning
=================  ====================  =========================================================================
transaction_id     TRANSACTION_ID        required; becomes the order id (payment ``pay-<id>``, chargeback ``cb-<id>``)
timestamp          TX_DATETIME           required; ISO 8601 (``2018-04-01 00:00:31``; no zone = UTC) or epoch seconds
customer_id        CUSTOMER_ID           required; registered (synthetic e-mail and name) on first appearance
terminal_id        TERMINAL_ID           required unless merchant_id is given (then the merchant is the terminal)
amount             TX_AMOUNT             required; positive, rounded to cents
fraud              TX_FRAUD              optional 0/1 label
merchant_id        MERCHANT_ID           optional; default ``m-<terminal_id>``
category           CATEGORY              optional; default ``ImportOptions.category`` ("general")
currency           CURRENCY              optional; default ``ImportOptions.currency`` ("EUR")
card_number        CARD_NUMBER           optional; default a Luhn-valid number derived from the customer id
product_id         PRODUCT_ID            optional; default one generic product per category, ``p-<category>``
chargeback_at      CHARGEBACK_DATETIME   optional; when present, the chargeback time (empty: none known yet);
                                         when absent, fraud rows are charged back ``chargeback_delay_days`` later
chargeback_reason  CHARGEBACK_REASON     optional; the chargeback's reason code (default ``fraud``)
=================  ====================  =========================================================================

Each row becomes PlaceOrder (one line: the product, quantity 1, unit price = amount) and CapturePayment at the
row's time, preceded by RegisterCustomer / UpsertProduct the first time the customer / product appears; each
chargeback is emitted at its filing time among later orders. A file already in time order is streamed (a first
pass reads only the timestamps to check); otherwise the good rows are loaded and sorted in memory. Bad rows are
reported with line number and reason, counted and written to a rejects CSV (always written, so it never shows a
previous run's rows); the good rows keep flowing.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from ingest.core.cards import mask_card_numbers
from ingest.core.progress import Progress, ProgressMeter
from ingest.ecommerce.commands import Command
from ingest.ecommerce.customer_identity import imported_customer, imported_product
from ingest.ecommerce.transaction_csv import ColumnMapping
from ingest.ecommerce.transaction_rows import (
    ImportOptions,
    RowError,
    parse_timestamp,
    parse_transaction,
    resolve_columns,
)
from ingest.ecommerce.transactions import OrderCommands, OrderStream, Sink, Transaction, order_commands

__all__ = ["ColumnMapping", "ImportOptions", "ImportSummary", "Reject", "import_csv"]

KEPT_REJECTS = 100  # in the summary; the rejects file has them all


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass
class ImportSummary:
    rows: int = 0
    orders: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)  # the first KEPT_REJECTS
    rejects_path: Path | None = None
    commands: Counter[str] = field(default_factory=Counter)
    chargebacks_emitted: int = 0
    chargebacks_pending: int = 0
    sorted_in_memory: bool = False
    elapsed_seconds: float = 0.0

    def describe(self) -> str:
        by_type = ", ".join(f"{name} {n}" for name, n in sorted(self.commands.items()))
        mode = "sorted in memory" if self.sorted_in_memory else "streamed"
        return (
            f"{self.rows} rows ({mode}) in {self.elapsed_seconds:.1f}s: {self.orders} orders, {self.rejected} "
            f"rejected (see {self.rejects_path}); chargebacks {self.chargebacks_emitted} emitted, "
            f"{self.chargebacks_pending} pending; commands: {by_type}"
        )


Parsed = tuple[int, Transaction, OrderCommands]


class RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def import_csv(
    path: Path | str,
    mapping: ColumnMapping | None,
    sink: Sink,
    progress: Progress | None = None,
    options: ImportOptions | None = None,
) -> ImportSummary:
    """Send the commands of the history in ``path`` to ``sink``; see the module docstring."""
    path = Path(path)
    options = replace(options or ImportOptions(), **({"mapping": mapping} if mapping else {}))
    summary = ImportSummary(rejects_path=options.rejects_path or path.with_name(f"{path.stem}.rejects.csv"))
    meter = ProgressMeter(progress, every=options.progress_every)
    with parsed_history(path, options, summary) as parsed:
        shop = _Shop(sink, summary, options.country)
        for _, tx, commands in parsed:
            shop.add(tx, commands)
            meter.update(summary.rows, lambda: _progress_line(summary, meter))
        summary.chargebacks_pending = shop.stream.finish(options.known_at)
    summary.chargebacks_emitted = summary.commands["FileChargeback"]
    summary.elapsed_seconds = meter.elapsed()
    meter.finish(lambda: _progress_line(summary, meter))
    return summary


@contextmanager
def parsed_history(path: Path, options: ImportOptions, summary: ImportSummary) -> Iterator[Iterator[Parsed]]:
    """The file's good rows in time order, with their line numbers; each bad one is counted in ``summary`` and
    written to its rejects file as the rows are read (a file already in time order is streamed, not loaded)."""
    in_order = _is_time_ordered(path, options.mapping)
    with path.open(newline="", encoding="utf-8-sig") as source, summary.rejects_path.open("w", newline="") as out:
        reader, rejects = csv.reader(source), csv.writer(out)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file, expected a header line")
        columns = resolve_columns(header, options.mapping)
        rejects.writerow(["_line", "_reason", *header])
        parsed = _parse_rows(reader, header, columns, options, summary, rejects)
        if not in_order:
            summary.sorted_in_memory = True
            parsed = iter(sorted(parsed, key=lambda row: (row[1].placed_at, row[0])))
        yield parsed


class _Shop:
    """Registers customers and products on first sight, then hands the order to the stream."""

    def __init__(self, sink: Sink, summary: ImportSummary, country: str) -> None:
        def counting_sink(command: Command) -> None:
            summary.commands[type(command).__name__] += 1
            sink(command)

        self._sink = counting_sink
        self._summary = summary
        self._country = country
        self.stream = OrderStream(counting_sink)
        self._customers: set[str] = set()
        self._products: set[str] = set()

    def add(self, tx: Transaction, commands: OrderCommands) -> None:
        self.stream.release_until(tx.placed_at)  # earlier chargebacks first, so time never runs backwards
        if tx.customer_id not in self._customers:
            self._customers.add(tx.customer_id)
            self._sink(imported_customer(tx.customer_id, tx.placed_at, self._country))
        if tx.product_id not in self._products:
            self._products.add(tx.product_id)
            self._sink(imported_product(tx))
        self.stream.add(tx, commands)
        self._summary.orders += 1


def _parse_rows(
    reader: Iterator[list[str]],
    header: list[str],
    columns: dict[str, int],
    options: ImportOptions,
    summary: ImportSummary,
    rejects: RowWriter,
) -> Iterator[Parsed]:
    """The good rows with their line numbers; each bad one is counted and written to ``rejects``."""
    for values in reader:
        if not values:
            continue  # a blank line holds no transaction
        summary.rows += 1
        line = reader.line_num
        try:
            if len(values) != len(header):
                raise RowError(f"row has {len(values)} fields, the header has {len(header)}")
            tx = parse_transaction(values, columns, options)
            yield line, tx, order_commands(tx)
        except (RowError, ValidationError) as error:
            _reject(summary, rejects, values, line, _reason(error))


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(error)


def _reject(summary: ImportSummary, rejects: RowWriter, values: list[str], line: int, reason: str) -> None:
    summary.rejected += 1
    if len(summary.rejects) < KEPT_REJECTS:
        summary.rejects.append(Reject(line, reason))
    # The row as it was, extra fields too, but never a card number: the file is kept and shared to fix the rows.
    rejects.writerow([line, reason, *map(mask_card_numbers, values)])


def _is_time_ordered(path: Path, mapping: ColumnMapping) -> bool:
    """Whether the readable timestamps never go backwards: then the file can be streamed."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        header = next(reader, None)
        names = [name.strip() for name in header or []]
        if mapping.timestamp not in names:
            return True  # import_csv reports the missing header or column
        position, previous = names.index(mapping.timestamp), None
        for values in reader:
            try:
                moment = parse_timestamp(values[position])
            except (RowError, IndexError):
                continue
            if previous is not None and moment < previous:
                return False
            previous = moment
    return True


def _progress_line(summary: ImportSummary, meter: ProgressMeter) -> str:
    return (
        f"rows {summary.rows} ({meter.per_second(summary.rows):.0f}/s), orders {summary.orders}, "
        f"rejected {summary.rejected}, chargebacks {summary.commands['FileChargeback']}"
    )
