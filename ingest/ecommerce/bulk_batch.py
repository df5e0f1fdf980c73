"""One batch of a bulk import: the commands' rows and events as COPY text for the kit's staging tables.

Rows and events are what the per-command use cases write (``service.register_customer``, ``ordering.place_order``,
``capture_payment``, ``file_chargeback``): the same columns, the same ``fingerprint`` of each command, the same
payloads validated by the contract's ``build_event``, the same keys and order. A payment always follows its
order in the stream (``OrderStream``), so an order is staged as it ends after its capture: ``paid``, version 2;
a chargeback moves it on with an UPDATE, as ``file_chargeback`` does (version 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.core.bulk import EVENTS, StagingTable, copy_line, envelope_text
from ingest.core.idempotency import as_utc, fingerprint
from ingest.ecommerce.commands import CapturePayment, FileChargeback, PlaceOrder, RegisterCustomer
from ingest.ecommerce.contract import build_event

PAID, PAID_VERSION = "paid", 2
CHARGED_BACK = "chargeback"


def _table(name: str, *columns: str) -> StagingTable:
    return StagingTable(name, tuple((column.split(":")[0], column.split(":")[1]) for column in columns))


CUSTOMERS = _table(
    "stage_customers",
    *("seq:integer", "customer_id:text", "email:text", "full_name:text", "country:text"),
    *("registered_at:timestamptz", "command_fingerprint:text"),
)
ORDERS = _table(
    "stage_orders",
    *("seq:integer", "order_id:text", "customer_id:text", "merchant_id:text", "terminal_id:text"),
    *("card_last4:text", "card_token:text", "card_brand:text", "amount:numeric", "currency:text", "status:text"),
    *("version:integer", "placed_at:timestamptz", "command_fingerprint:text"),
)
ORDER_LINES = _table(
    "stage_order_lines",
    *("seq:integer", "order_id:text", "line_no:integer", "product_id:text", "category:text"),
    *("quantity:integer", "unit_price:numeric"),
)
PAYMENTS = _table(
    "stage_payments",
    *("seq:integer", "order_seq:integer", "payment_id:text", "order_id:text", "amount:numeric", "method:text"),
    *("captured_at:timestamptz", "command_fingerprint:text"),
)
# ``order_fingerprint``: the order this chargeback was written for; one with the same id but other content
# (rejected as a conflict) gets no chargeback.
CHARGEBACKS = _table(
    "stage_chargebacks",
    *("seq:integer", "order_fingerprint:text", "chargeback_id:text", "order_id:text", "reason:text"),
    *("amount:numeric", "filed_at:timestamptz", "command_fingerprint:text"),
)
STAGING = (CUSTOMERS, ORDERS, ORDER_LINES, PAYMENTS, CHARGEBACKS)


@dataclass
class Batch:
    """Staged COPY text per table, the CSV line of each row-owning command (for rejects) and where it ends."""

    copies: dict[str, list[str]] = field(default_factory=lambda: {t.name: [] for t in (*STAGING, EVENTS)})
    lines: dict[int, int] = field(default_factory=dict)  # seq -> CSV line of the row it came from
    rows: int = 0  # transactions (CSV rows) whose order is staged here
    commands_end: int = 0  # commands of the file consumed up to the end of this batch
    rows_end: int = 0  # CSV rows read up to the end of this batch

    def text(self, table: StagingTable) -> str:
        return "".join(self.copies[table.name])


class BatchBuilder:
    """Turns commands, in stream order, into the rows and events of the current batch."""

    def __init__(self, card_token_key: str) -> None:
        self._card_token_key = card_token_key  # card numbers are tokenised as the app does (`PlaceOrder.protected`)
        self.batch = Batch()
        self._seq = 0
        self._last_order: tuple[int, PlaceOrder] | None = None

    def take(self) -> Batch:
        batch, self.batch, self._seq, self._last_order = self.batch, Batch(), 0, None
        return batch

    def _next(self, line: int) -> int:
        self._seq += 1
        self.batch.lines[self._seq] = line
        return self._seq

    def _stage(self, table: StagingTable, *values: Any) -> None:
        self.batch.copies[table.name].append(copy_line(values))

    def _event(
        self, seq: int, event_type: str, key: str, payload: dict[str, Any], at: datetime, version: int = 1
    ) -> None:
        event = build_event(event_type, key, payload, at, version)
        envelope = event.envelope
        position = len(self.batch.copies[EVENTS.name])
        values = (position, seq, event.event_id, event.topic, key, envelope.type, envelope.version)
        self._stage(EVENTS, *values, envelope_text(envelope))

    def register_customer(self, command: RegisterCustomer, line: int) -> None:
        seq, registered_at = self._next(line), as_utc(command.registered_at)
        values = (command.customer_id, command.email, command.full_name, command.country, registered_at)
        self._stage(CUSTOMERS, seq, *values, fingerprint(command))
        payload = command.model_dump(exclude={"registered_at"}) | {"registered_at": registered_at}
        self._event(seq, "ecommerce.customer.registered", command.customer_id, payload, registered_at)

    def place_order(self, command: PlaceOrder, line: int) -> None:
        seq, placed_at, amount = self._next(line), as_utc(command.placed_at), command.amount
        order = command.protected(self._card_token_key)
        card = (order.card_last4, order.card_token, order.card_brand)
        header = (command.order_id, command.customer_id, command.merchant_id, command.terminal_id, *card, amount)
        self._stage(ORDERS, seq, *header, command.currency, PAID, PAID_VERSION, placed_at, fingerprint(order))
        lines = [ln.model_dump() for ln in command.lines]
        for n, ln in enumerate(lines):
            values = (ln["product_id"], ln["category"], ln["quantity"], ln["unit_price"])
            self._stage(ORDER_LINES, seq, command.order_id, n, *values)
        payload = order.model_dump(exclude={"lines", "placed_at"})
        payload |= {"amount": amount, "lines": lines, "placed_at": placed_at}
        self._event(seq, "ecommerce.order.placed", command.order_id, payload, placed_at, version=2)
        self._last_order = (seq, command)
        self.batch.rows += 1

    def capture_payment(self, command: CapturePayment, line: int) -> None:
        if self._last_order is None or self._last_order[1].order_id != command.order_id:
            raise ValueError(f"payment {command.payment_id!r} does not follow its order {command.order_id!r}")
        order_seq, order = self._last_order
        seq, captured_at, amount = self._next(line), as_utc(command.captured_at), order.amount
        values = (command.payment_id, command.order_id, amount, command.method, captured_at)
        self._stage(PAYMENTS, seq, order_seq, *values, fingerprint(command))
        payload = {"payment_id": command.payment_id, "order_id": command.order_id, "amount": amount}
        payload |= {"method": command.method, "captured_at": captured_at}
        self._event(seq, "ecommerce.payment.captured", command.order_id, payload, captured_at)
        self._status(seq, command.order_id, PAID, captured_at)

    def file_chargeback(self, command: FileChargeback, order: PlaceOrder, line: int) -> None:
        """``order``: the command that placed the order charged back (its amount and fingerprint)."""
        seq, filed_at, amount = self._next(line), as_utc(command.filed_at), order.amount
        values = (command.chargeback_id, command.order_id, command.reason, amount, filed_at)
        order_fingerprint = fingerprint(order.protected(self._card_token_key))  # as its order's row was stamped
        self._stage(CHARGEBACKS, seq, order_fingerprint, *values, fingerprint(command))
        payload = {"chargeback_id": command.chargeback_id, "order_id": command.order_id, "reason": command.reason}
        payload |= {"amount": amount, "filed_at": filed_at}
        self._event(seq, "ecommerce.chargeback.filed", command.order_id, payload, filed_at)
        self._status(seq, command.order_id, CHARGED_BACK, filed_at)

    def _status(self, seq: int, order_id: str, status: str, at: datetime) -> None:
        payload = {"order_id": order_id, "status": status, "changed_at": at}
        self._event(seq, "ecommerce.order.status_changed", order_id, payload, at)
