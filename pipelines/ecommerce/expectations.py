"""What e-commerce silver must look like: one Great Expectations suite per silver table, blocking gold."""

from __future__ import annotations

from collections.abc import Callable

from ingest.ecommerce.contract import ORDER_STATUSES
from pipelines.core.expectations import SHA256_HEX, gxe, keyed, not_negative, positive

# silver table → its expectations (built fresh per run: GX binds an expectation to one suite).
SILVER_EXPECTATIONS: dict[str, Callable[[], list[gxe.Expectation]]] = {
    "customers": lambda: [
        *keyed("customer_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="email_hash", regex=SHA256_HEX),
    ],
    "products": lambda: [*keyed("product_id"), not_negative("price")],
    "carts": lambda: [*keyed("cart_id"), gxe.ExpectColumnValuesToNotBeNull(column="customer_id")],
    "orders": lambda: [
        *keyed("order_id"),
        *keyed("event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        positive("amount"),
        gxe.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"),
        # The app's keyed token (null for orders published before tokenisation); the number never reaches silver.
        gxe.ExpectColumnValuesToMatchRegex(column="card_token", regex=SHA256_HEX),
        gxe.ExpectColumnValuesToMatchRegex(column="card_last4", regex=r"^[0-9]{4}$"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES)),
    ],
    "order_lines": lambda: [*keyed("order_id", "line_number"), positive("quantity"), not_negative("unit_price")],
    "order_status_changes": lambda: [*keyed("event_id"), gxe.ExpectColumnValuesToNotBeNull(column="order_id")],
    "payments": lambda: [*keyed("payment_id"), *keyed("event_id"), positive("amount")],
    "chargebacks": lambda: [*keyed("chargeback_id"), *keyed("event_id"), positive("amount")],
}
