"""A card transaction as history records it, and the commands a live shop would have produced for it.

Both the traffic generator and the CSV importer describe orders as ``Transaction`` records and turn them into
commands here, so a generated order and the same order read back from a CSV become identical commands.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ingest.ecommerce.commands import CapturePayment, Command, FileChargeback, OrderLine, PlaceOrder

Sink = Callable[[Command], None]


@dataclass(frozen=True)
class Transaction:
    """One paid order of one line; ``chargeback_at`` is when the cardholder disputes it (None: never)."""

    transaction_id: str
    placed_at: datetime
    customer_id: str
    merchant_id: str
    terminal_id: str
    card_number: str
    product_id: str
    category: str
    amount: Decimal
    currency: str = "EUR"
    is_fraud: bool = False
    chargeback_at: datetime | None = None
    # Why it was disputed. Generated fraud names its pattern ("fraud:compromised_terminal"), so backtests can
    # report recall per pattern; a real history has its own reason codes, or the default.
    chargeback_reason: str = "fraud"


def place_order(tx: Transaction) -> PlaceOrder:
    line = OrderLine(product_id=tx.product_id, category=tx.category, quantity=1, unit_price=tx.amount)
    return PlaceOrder(
        order_id=tx.transaction_id,
        customer_id=tx.customer_id,
        merchant_id=tx.merchant_id,
        terminal_id=tx.terminal_id,
        card_number=tx.card_number,
        currency=tx.currency,
        lines=[line],
        placed_at=tx.placed_at,
    )


def capture_payment(tx: Transaction) -> CapturePayment:
    # Card sales authorise and capture in one step, so the payment carries the order's own time.
    return CapturePayment(payment_id=f"pay-{tx.transaction_id}", order_id=tx.transaction_id, captured_at=tx.placed_at)


def file_chargeback(tx: Transaction) -> FileChargeback:
    return FileChargeback(
        chargeback_id=f"cb-{tx.transaction_id}",
        order_id=tx.transaction_id,
        reason=tx.chargeback_reason,
        filed_at=tx.chargeback_at,
    )


OrderCommands = tuple[PlaceOrder, CapturePayment, FileChargeback | None]


def order_commands(tx: Transaction) -> OrderCommands:
    """Everything ``tx`` makes a shop do; raises pydantic's ValidationError if a field breaks the contract."""
    return place_order(tx), capture_payment(tx), file_chargeback(tx) if tx.chargeback_at else None


class OrderStream:
    """Sends orders and payments as they happen and holds each chargeback back until its filing time.

    Orders must arrive in time order; the commands leave in time order too.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._held: list[tuple[datetime, int, FileChargeback]] = []
        self._sequence = itertools.count()
        self.chargebacks_released = 0

    def release_until(self, moment: datetime | None) -> None:
        """Send every held chargeback filed at or before ``moment`` (None: all of them)."""
        while self._held and (moment is None or self._held[0][0] <= moment):
            self._sink(heapq.heappop(self._held)[2])
            self.chargebacks_released += 1

    def add(self, tx: Transaction, commands: OrderCommands | None = None) -> None:
        """Send ``tx`` (``commands``: its commands if already built, e.g. to validate before anything is sent)."""
        order, payment, chargeback = commands or order_commands(tx)
        self.release_until(tx.placed_at)
        self._sink(order)
        self._sink(payment)
        if chargeback is not None and chargeback.filed_at is not None:
            heapq.heappush(self._held, (chargeback.filed_at, next(self._sequence), chargeback))

    def finish(self, known_at: datetime | None) -> int:
        """Release the chargebacks filed by ``known_at`` (None: all); returns how many stay pending, unknown yet."""
        self.release_until(known_at)
        return len(self._held)

    @property
    def pending(self) -> list[FileChargeback]:
        return [held[2] for held in sorted(self._held)]
