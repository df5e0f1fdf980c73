"""The e-commerce HTTP app on the real stack: status codes, messages naming the problem, idempotent retries, views."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from app_keys import dev_headers
from fastapi.testclient import TestClient

from ingest.core.relay import relay_pass
from ingest.domains import storage_declarations
from ingest.ecommerce.app import create_app
from ingest.ecommerce.relay import open_relay_sources
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    with TestClient(create_app(stack_settings), headers=dev_headers("ecommerce")) as test_client:
        yield test_client


@pytest.fixture
def ids(unique_name: str) -> dict[str, str]:
    return {kind: f"{kind}-{unique_name}" for kind in ("customer", "product", "cart", "order", "payment", "chargeback")}


def customer_body(ids: dict[str, str], **changes: object) -> dict[str, object]:
    return {"customer_id": ids["customer"], "email": "ada@shop.test", "full_name": "Ada", "country": "GB"} | changes


def order_body(ids: dict[str, str], **changes: object) -> dict[str, object]:
    line = {"product_id": ids["product"], "category": "books", "quantity": 3, "unit_price": "12.50"}
    body = {"order_id": ids["order"], "customer_id": ids["customer"], "merchant_id": "m-7", "terminal_id": "t-1"}
    return body | {"card_number": "4111111111111111", "lines": [line], "placed_at": "2024-02-29T18:30:00Z"} | changes


@pytest.fixture
def shop(client: TestClient, ids: dict[str, str]) -> dict[str, str]:
    assert client.post("/customers", json=customer_body(ids)).status_code == 201
    product = {
        "sku": f"sku-{ids['product']}",
        "name": "SICP",
        "category": "books",
        "merchant_id": "m-7",
        "price": "12.50",
    }
    assert client.put(f"/products/{ids['product']}", json=product).status_code == 201
    return ids


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert "/orders/{order_id}/chargebacks" in client.get("/openapi.json").json()["paths"]


def test_register_is_idempotent_and_a_reused_id_conflicts(client: TestClient, ids: dict[str, str]) -> None:
    first = client.post("/customers", json=customer_body(ids))
    again = client.post("/customers", json=customer_body(ids))
    other = client.post("/customers", json=customer_body(ids, email="eve@shop.test"))
    assert first.status_code == 201 and len(first.json()["event_ids"]) == 1
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged" and again.json()["event_ids"] == []
    assert other.status_code == 409 and "different RegisterCustomer" in other.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "not-an-email"}, "email"), ({"country": "gbr"}, "country"), ({"nickname": "x"}, "nickname")],
)
def test_an_invalid_body_is_422_naming_the_field(
    client: TestClient, ids: dict[str, str], change: dict, field: str
) -> None:
    response = client.post("/customers", json=customer_body(ids, **change))
    assert response.status_code == 422
    assert [problem["loc"][-1] for problem in response.json()["detail"]] == [field]


def test_an_order_flows_from_placement_to_chargeback(client: TestClient, shop: dict[str, str]) -> None:
    placed = client.post("/orders", json=order_body(shop))
    assert placed.status_code == 201
    assert client.post("/orders", json=order_body(shop)).status_code == 200
    paid = client.post(f"/orders/{shop['order']}/payments", json={"payment_id": shop["payment"]})
    assert paid.status_code == 201 and len(paid.json()["event_ids"]) == 2  # captured + status changed
    second_payment = client.post(f"/orders/{shop['order']}/payments", json={"payment_id": f"{shop['payment']}-2"})
    assert second_payment.status_code == 409 and "already paid" in second_payment.json()["detail"]
    charged_back = client.post(f"/orders/{shop['order']}/chargebacks", json={"chargeback_id": shop["chargeback"]})
    assert charged_back.status_code == 201

    order = client.get(f"/orders/{shop['order']}").json()
    assert order["amount"] == "37.50" and order["status"] == "chargeback"  # 3 x 12.50, exact
    assert (order["payment_id"], order["chargeback_id"], order["card_last4"]) == (
        shop["payment"],
        shop["chargeback"],
        "1111",
    )
    assert order["version"] == 3  # placed, paid, charged back
    assert order["lines"] == [
        {"product_id": shop["product"], "category": "books", "quantity": 3, "unit_price": "12.50"}
    ]


def test_unknown_references_are_404_with_the_id(client: TestClient, shop: dict[str, str], unique_name: str) -> None:
    ghost = f"ghost-{unique_name}"
    cases = [
        client.post("/orders", json=order_body(shop, customer_id=ghost)),
        client.post(
            "/orders",
            json=order_body(shop, lines=[{"product_id": ghost, "category": "x", "quantity": 1, "unit_price": "1"}]),
        ),
        client.put(
            f"/carts/{shop['cart']}",
            json={"customer_id": shop["customer"], "lines": [{"product_id": ghost, "quantity": 1}]},
        ),
        client.post(f"/orders/{ghost}/payments", json={"payment_id": shop["payment"]}),
        client.get(f"/orders/{ghost}"),
        client.get(f"/products/{ghost}"),
        client.get(f"/customers/{ghost}/orders", params={"month": "2024-02"}),
    ]
    for response in cases:
        assert response.status_code == 404, response.text
        assert ghost in response.json()["detail"]
    assert client.get(f"/orders/{shop['order']}").status_code == 404  # the refused orders left nothing behind


def test_a_cart_is_priced_from_the_catalog_and_updates_in_place(client: TestClient, shop: dict[str, str]) -> None:
    cart = {"customer_id": shop["customer"], "lines": [{"product_id": shop["product"], "quantity": 2}]}
    created = client.put(f"/carts/{shop['cart']}", json=cart)
    same = client.put(f"/carts/{shop['cart']}", json=cart)
    cart["lines"][0]["quantity"] = 5
    updated = client.put(f"/carts/{shop['cart']}", json=cart)
    assert [r.status_code for r in (created, same, updated)] == [201, 200, 200]
    assert [r.json()["outcome"] for r in (created, same, updated)] == ["created", "unchanged", "updated"]
    assert updated.json()["version"] == 2


def test_customer_orders_of_a_month_come_from_cassandra_after_the_relay(
    client: TestClient, shop: dict[str, str], stack_settings: Settings
) -> None:
    times = {"a": "2024-02-01T00:00:00Z", "b": "2024-02-29T23:59:00Z", "c": "2024-03-01T00:00:00Z"}
    for suffix, placed_at in times.items():
        body = order_body(shop, order_id=f"{shop['order']}-{suffix}", placed_at=placed_at)
        assert client.post("/orders", json=body).status_code == 201
    relay_pass(stack_settings, open_relay_sources)

    february = client.get(f"/customers/{shop['customer']}/orders", params={"month": "2024-02"})
    assert february.status_code == 200
    assert [(o["order_id"], o["amount"], o["line_count"]) for o in february.json()] == [
        (f"{shop['order']}-b", "37.50", 1),  # newest first
        (f"{shop['order']}-a", "37.50", 1),
    ]
    march = client.get(f"/customers/{shop['customer']}/orders", params={"month": "2024-03"}).json()
    assert [o["order_id"] for o in march] == [f"{shop['order']}-c"]
    bad_month = client.get(f"/customers/{shop['customer']}/orders", params={"month": "2024-13"})
    assert bad_month.status_code == 422 and bad_month.json()["detail"][0]["loc"] == ["query", "month"]


def test_product_reads_back_with_an_exact_price(client: TestClient, shop: dict[str, str]) -> None:
    product = client.get(f"/products/{shop['product']}").json()
    assert product["price"] == "12.50" and product["version"] == 1
    taken_sku = {
        "sku": f"sku-{shop['product']}",
        "name": "Other",
        "category": "books",
        "merchant_id": "m",
        "price": "1",
    }
    clash = client.put(f"/products/{shop['product']}-other", json=taken_sku)
    assert clash.status_code == 409 and shop["product"] in clash.json()["detail"]


def test_the_audit_log_records_every_change_and_refuses_edits(
    client: TestClient, shop: dict[str, str], stack_settings: Settings
) -> None:
    client.post("/orders", json=order_body(shop), headers={"X-Actor": "alice"})
    client.post(f"/orders/{shop['order']}/payments", json={"payment_id": shop["payment"]}, headers={"X-Actor": "bob"})
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        trail = conn.execute(
            "SELECT action, actor, after ->> 'status' FROM ecommerce.audit_log WHERE table_name = 'orders' AND row_key = %s "
            "ORDER BY audit_id",
            (shop["order"],),
        ).fetchall()
        assert trail == [("INSERT", "api:alice", "placed"), ("UPDATE", "api:bob", "paid")]
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM ecommerce.audit_log WHERE row_key = %s", (shop["order"],))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE ecommerce.audit_log SET actor = 'mallory' WHERE row_key = %s", (shop["order"],))
        stored = conn.execute("SELECT amount FROM ecommerce.orders WHERE order_id = %s", (shop["order"],)).fetchone()
    assert stored[0] == Decimal("37.50")


def test_an_order_for_a_product_not_yet_in_the_catalog_is_refused_until_the_product_exists(
    client: TestClient, ids: dict[str, str]
) -> None:
    # The order path remembers product ids it has found; a product missing a moment ago must not be remembered.
    assert client.post("/customers", json=customer_body(ids)).status_code == 201
    refused = client.post("/orders", json=order_body(ids))
    assert refused.status_code == 404
    assert ids["product"] in refused.json()["detail"] and "product_id" in refused.json()["detail"]
    product = {"sku": f"sku-{ids['product']}", "name": "SICP", "category": "books", "merchant_id": "m-7"}
    assert client.put(f"/products/{ids['product']}", json=product | {"price": "12.50"}).status_code == 201
    assert client.post("/orders", json=order_body(ids)).status_code == 201
    assert client.post("/orders", json=order_body(ids, order_id=f"{ids['order']}-2")).status_code == 201


def test_an_order_of_an_unknown_customer_is_refused_and_leaves_nothing(
    client: TestClient, shop: dict[str, str]
) -> None:
    refused = client.post("/orders", json=order_body(shop, customer_id=f"ghost-{shop['customer']}"))
    assert refused.status_code == 404 and "customer_id" in refused.json()["detail"]
    assert client.get(f"/orders/{shop['order']}").status_code == 404


def test_text_postgresql_cannot_store_and_oversized_bodies_are_refused_before_the_database(
    client: TestClient, ids: dict[str, str]
) -> None:
    # Found by hand: a NUL in customer_id reached PostgreSQL, which refused the byte, and the app answered 500.
    nul = client.post("/customers", json=customer_body(ids, customer_id=f"{ids['customer']}\x00"))
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert client.get(f"/customers/{ids['customer']}%00/orders", params={"month": "2024-02"}).status_code == 422
    # A 20 MB body is refused by its declared length, without being read or parsed.
    huge = client.post("/customers", json=customer_body(ids, full_name="x" * 20_000_000))
    assert huge.status_code == 413 and "LAKEHOUSE_HTTP_MAX_BODY_BYTES" in huge.json()["detail"]
    # Nothing of either reached the database: the id is still free.
    assert client.post("/customers", json=customer_body(ids)).status_code == 201
