"""The sink a bulk import's shop sends its commands to: each is staged in the current batch, except those a
previous run of the same import already committed, which are only counted (and products, which always go through
their use case: MongoDB is not part of a batch, and an unchanged product costs one read)."""

from __future__ import annotations

from collections import defaultdict

from ingest.ecommerce.bulk_batch import BatchBuilder
from ingest.ecommerce.commands import (
    CapturePayment,
    Command,
    FileChargeback,
    PlaceOrder,
    RegisterCustomer,
    UpsertProduct,
)
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.service import upsert_product
from ingest.ecommerce.transactions import OrderCommands


class CommandFeed:
    def __init__(self, builder: BatchBuilder, ctx: EcommerceContext, skip: int = 0) -> None:
        self.consumed = 0  # commands received, skipped ones included: what the checkpoint counts
        self._builder = builder
        self._ctx = ctx
        self._skip = skip
        self._line = 0
        # Orders whose chargeback is still held by the stream: its row's line and the order (amount, fingerprint).
        self._charged: dict[str, list[tuple[int, PlaceOrder]]] = defaultdict(list)

    def at_row(self, line: int, commands: OrderCommands) -> None:
        """The CSV line the next commands come from, and its commands (to remember an order with a chargeback)."""
        self._line = line
        if commands[2] is not None:
            self._charged[commands[0].order_id].append((line, commands[0]))

    def __call__(self, command: Command) -> None:
        self.consumed += 1
        if isinstance(command, UpsertProduct):
            upsert_product(command, self._ctx)
        elif isinstance(command, FileChargeback):
            line, order = self._charged[command.order_id].pop(0)
            if not self._charged[command.order_id]:
                del self._charged[command.order_id]
            if self.consumed > self._skip:
                self._builder.file_chargeback(command, order, line)
        elif self.consumed <= self._skip:
            return
        elif isinstance(command, RegisterCustomer):
            self._builder.register_customer(command, self._line)
        elif isinstance(command, PlaceOrder):
            self._builder.place_order(command, self._line)
        elif isinstance(command, CapturePayment):
            self._builder.capture_payment(command, self._line)
        else:
            raise TypeError(f"a bulk import does not stage {type(command).__name__}")
