"""The main job's last act: a few new orders placed through the e-commerce app, each scored by the fraud service.

They reuse a customer, card and terminal of the generated world, so the online features have history behind
them: one order like the customer's usual ones, one far above their habit, one at a terminal they never used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from fastapi.testclient import TestClient

from ingest.core.api_keys import KeyStore, dev_key
from ingest.ecommerce.app import create_app
from ingest.ecommerce.contract import CONTRACT
from ingest.ecommerce.generator import simulate
from ingest.ecommerce.traffic import TrafficConfig
from ingest.ecommerce.transactions import Transaction
from lakehouse.settings import Settings


@dataclass(frozen=True)
class DemoOrder:
    label: str
    order_id: str
    customer_id: str
    amount: Decimal
    status_code: int
    decision: str
    score: float | None
    detail: str


def demo_orders(config: TrafficConfig) -> list[tuple[str, Transaction]]:
    history = [order.transaction for order in simulate(config) if order.pattern is None]
    usual = history[-1]
    elsewhere = next(t for t in reversed(history) if t.terminal_id != usual.terminal_id)
    return [
        ("like the customer's usual orders", usual),
        ("25x the customer's usual amount", _with(usual, amount=usual.amount * 25)),
        (
            "at a terminal the customer never used",
            _with(
                usual,
                terminal_id=elsewhere.terminal_id,
                merchant_id=elsewhere.merchant_id,
                product_id=elsewhere.product_id,
                category=elsewhere.category,
            ),
        ),
    ]


def _with(transaction: Transaction, **changes: object) -> Transaction:
    return Transaction(**{**transaction.__dict__, **changes})


@contextmanager
def demo_key(settings: Settings) -> Iterator[str]:
    """The key the demo places orders with, as a shop front would: the development key while it is on; else one
    issued for the demo (orders only) and revoked after it."""
    if settings.api_dev_keys:
        yield dev_key(CONTRACT.name)
        return
    store = KeyStore(settings)
    issued = store.issue(CONTRACT.name, "main-job-demo", frozenset({"orders:write"}), settings.api_rate_per_minute)
    try:
        yield issued.key
    finally:
        store.revoke(issued.principal.key_id)


def place_demo_orders(settings: Settings, config: TrafficConfig) -> list[DemoOrder]:
    """POST each demo order to the app (in process, through its real HTTP stack) and collect its fraud decision."""
    placed = []
    with demo_key(settings) as key, TestClient(create_app(settings, fraud_scoring=True)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        for label, transaction in demo_orders(config):
            order_id = f"demo-{uuid.uuid4().hex[:10]}"
            body = {
                "order_id": order_id,
                "customer_id": transaction.customer_id,
                "merchant_id": transaction.merchant_id,
                "terminal_id": transaction.terminal_id,
                "card_number": transaction.card_number,
                "currency": transaction.currency,
                "lines": [
                    {
                        "product_id": transaction.product_id,
                        "category": transaction.category,
                        "quantity": 1,
                        "unit_price": str(transaction.amount.quantize(Decimal("0.01"))),
                    }
                ],
            }
            response = client.post("/orders", json=body)
            answer = response.json()
            fraud = answer.get("fraud") or {}
            placed.append(
                DemoOrder(
                    label,
                    order_id,
                    transaction.customer_id,
                    transaction.amount,
                    response.status_code,
                    fraud.get("decision", "?"),
                    fraud.get("score"),
                    fraud.get("error") or fraud.get("features_source") or str(answer)[:120],
                )
            )
    return placed
