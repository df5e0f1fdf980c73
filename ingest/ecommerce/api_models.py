"""HTTP request and response bodies of the e-commerce app.

Request bodies are the commands minus the id the URL already names (so an id is never sent twice and can never
disagree); responses declare money as Decimal, which JSON carries as a string, never as a rounded float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, create_model

from ingest.ecommerce.commands import CapturePayment, Command, FileChargeback, UpdateCart, UpsertProduct


def body_without(command: type[Command], id_field: str) -> type[Command]:
    """A request model with ``command``'s fields and rules, except ``id_field`` (taken from the path)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in command.model_fields.items() if name != id_field
    }
    return create_model(f"{command.__name__}Body", __base__=Command, **fields)


ProductBody = body_without(UpsertProduct, "product_id")
CartBody = body_without(UpdateCart, "cart_id")
PaymentBody = body_without(CapturePayment, "order_id")
ChargebackBody = body_without(FileChargeback, "order_id")


class FraudOut(BaseModel):
    """The fraud check of an order: the service's decision, or ``unscored`` with ``error`` saying why it gave none.
    Anything but ``approve`` holds the order in status ``review``."""

    decision: Literal["approve", "review", "decline", "unscored"]
    score: float | None
    model_version: str | None
    features_source: str | None
    checked_at: datetime
    error: str | None


class AcceptedOut(BaseModel):
    resource: str
    id: str
    outcome: Literal["created", "updated", "unchanged"]
    version: int
    event_ids: list[str]
    # Orders placed where fraud scoring is on; null for other resources and unscored history.
    fraud: FraudOut | None = None


class OrderLineOut(BaseModel):
    product_id: str
    category: str
    quantity: int
    unit_price: Decimal


class OrderOut(BaseModel):
    order_id: str
    customer_id: str
    merchant_id: str
    terminal_id: str
    card_last4: str
    amount: Decimal
    currency: str
    status: str
    placed_at: datetime
    version: int
    created_at: datetime
    updated_at: datetime
    payment_id: str | None
    chargeback_id: str | None
    lines: list[OrderLineOut]
    fraud: FraudOut | None = None


class CustomerOrderOut(BaseModel):
    order_id: str
    customer_id: str
    placed_at: datetime
    merchant_id: str
    amount: Decimal
    currency: str
    line_count: int


class ProductOut(BaseModel):
    product_id: str
    sku: str
    name: str
    category: str
    merchant_id: str
    price: Decimal
    currency: str
    version: int
