"""A customer and a product to place orders with, registered the way the generator does it (no scoring involved),
and the order commands the fraud tests place (importable: tests/ is on sys.path)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings


def open_shop(settings: Settings, ids: dict[str, str], price: str = "20.00") -> dict[str, str]:
    """Registers ``ids['customer']`` and ``ids['product']`` (a lamp at ``price``); returns ``ids``."""
    with open_context(settings, actor="test") as ctx:
        handle(RegisterCustomer(customer_id=ids["customer"], email="ada@shop.test", full_name="Ada", country="GB"), ctx)
        product = UpsertProduct(
            product_id=ids["product"],
            sku=f"sku-{ids['product']}",
            name="Lamp",
            category="home",
            merchant_id="m-1",
            price=Decimal(price),
        )
        handle(product, ctx)
    return ids


def order_command(
    ids: dict[str, str], order_id: str, placed_at: datetime, quantity: int = 2, unit_price: str = "20.00"
) -> PlaceOrder:
    line = OrderLine(product_id=ids["product"], category="home", quantity=quantity, unit_price=Decimal(unit_price))
    return PlaceOrder(
        order_id=order_id,
        customer_id=ids["customer"],
        merchant_id="m-1",
        terminal_id=ids["terminal"],
        card_number="4111111111111111",
        lines=[line],
        placed_at=placed_at,
    )
