"""What callers ask the e-commerce app to do: the HTTP request bodies, the generator's output and the CSV
importer's output are all these commands, so every path into the domain goes through the same use cases.

Identifiers are chosen by the caller (the generator, an importer, a client retrying a request), which makes
every command idempotent: sending the same command twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from ingest.core.cards import protect_card
from ingest.core.commands import Command as KitCommand

# The id of something read back at /customers/{id}/... or /orders/{id}: no "/" (a path separator even when
# escaped) and not only dots ("." and ".." are resolved away by every client), else it is created but unreadable.
ReadableId = Field(min_length=1, max_length=64, pattern=r"^[^/]*[^/.][^/]*$")


class Command(KitCommand):
    """Frozen, no unknown fields, JSON types as declared (``ingest.core.commands``)."""


class RegisterCustomer(Command):
    customer_id: str = ReadableId
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    full_name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    registered_at: datetime | None = None  # None: now


class UpsertProduct(Command):
    product_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=64)
    merchant_id: str = Field(min_length=1, max_length=64)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


class CartLine(Command):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1000)


class UpdateCart(Command):
    cart_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    lines: list[CartLine]


class OrderLine(Command):
    product_id: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class OrderFields(Command):
    order_id: str = ReadableId
    customer_id: str = Field(min_length=1, max_length=64)
    merchant_id: str = Field(min_length=1, max_length=64)
    terminal_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    lines: list[OrderLine] = Field(min_length=1)
    placed_at: datetime | None = None  # None: now; the generator and importer set historical times

    @property
    def amount(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


class PlaceOrder(OrderFields):
    """The order as a caller sends it, with the card number: it goes no further than :meth:`protected`."""

    card_number: str = Field(pattern=r"^[0-9]{12,19}$")

    def protected(self, card_token_key: str) -> TokenisedOrder:
        card = protect_card(self.card_number, card_token_key)
        fields = self.model_dump(exclude={"card_number"})
        return TokenisedOrder(**fields, card_token=card.token, card_last4=card.last4, card_brand=card.brand)


class TokenisedOrder(OrderFields):
    """The order the use cases store, publish and fingerprint for idempotency: the card as its keyed token."""

    card_token: str = Field(pattern=r"^[0-9a-f]{64}$")
    card_last4: str = Field(pattern=r"^[0-9]{4}$")
    card_brand: str = Field(min_length=1, max_length=32)


class CapturePayment(Command):
    payment_id: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=64)
    method: str = Field(default="card", max_length=32)
    captured_at: datetime | None = None


class FileChargeback(Command):
    chargeback_id: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="fraud", max_length=64)
    filed_at: datetime | None = None
