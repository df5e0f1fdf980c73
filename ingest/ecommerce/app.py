"""The e-commerce HTTP app: each write endpoint builds a command and passes it to `service.handle`, the same path
the generator and the importer use. Reads come from where each view lives: orders from PostgreSQL, a customer's
monthly orders from Cassandra (filled by the relay, so they appear once it has run), products from MongoDB.

A new order is scored for fraud when the app was created with ``fraud_scoring`` (see `ordering.place_order`): the
order is stored first, then scored; the response carries the decision, and anything but an approval (including no
answer from the service) leaves the order in status ``review``.

Every route but /health needs an API key with the route's scope (`Authorization: Bearer <key>`): 401 without a
valid key, 403 without the scope, 429 past the key's rate. Status codes: 201 created, 200 updated or replayed (an
identical retry), 404 unknown referenced id, 409 conflict (id reused with other content, order already paid, ...),
422 invalid body (the message names the field).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from typing import Annotated

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from ingest.core.auth import audit_actor, install_auth, scope_dependency
from ingest.core.errors import NotFound
from ingest.core.http import install_error_handlers, install_input_limits
from ingest.core.openapi_links import CREATED_ID, read_link, with_links
from ingest.ecommerce import catalog, order_store
from ingest.ecommerce.api_models import (
    AcceptedOut,
    CartBody,
    ChargebackBody,
    CustomerOrderOut,
    OrderOut,
    PaymentBody,
    ProductBody,
    ProductOut,
)
from ingest.ecommerce.commands import (
    CapturePayment,
    Command,
    FileChargeback,
    PlaceOrder,
    RegisterCustomer,
    UpdateCart,
    UpsertProduct,
)
from ingest.ecommerce.context import EcommerceContext, open_context
from ingest.ecommerce.contract import CONTRACT
from ingest.ecommerce.projections import OrdersByCustomer, open_orders_by_customer
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings, load_settings

Id = Annotated[str, Path(min_length=1, max_length=64)]
Actor = Annotated[str | None, Header(alias="X-Actor", max_length=64, description="who acts (audit log)")]
needs = scope_dependency(CONTRACT.scopes)
RESPONSES = {201: {"model": AcceptedOut}, 200: {"model": AcceptedOut}}
CUSTOMER_CREATED = with_links(
    RESPONSES,
    CustomerOrders=read_link(
        "GET /customers/{customer_id}/orders", {"customer_id": CREATED_ID}, "the new customer's orders of a month"
    ),
)
ORDER_CREATED = with_links(
    RESPONSES, Order=read_link("GET /orders/{order_id}", {"order_id": CREATED_ID}, "the order placed")
)
PRODUCT_CREATED = with_links(
    RESPONSES,
    Product=read_link("GET /products/{product_id}", {"product_id": "$request.path.product_id"}, "the new product"),
)


def run(request: Request, command: Command, actor: str | None) -> JSONResponse:
    ctx: EcommerceContext = request.app.state.ctx
    accepted = handle(command, replace(ctx, actor=audit_actor(request, actor)))
    body = AcceptedOut(**asdict(accepted) | {"event_ids": list(accepted.event_ids)}).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if accepted.outcome == "created" else 200)


def create_app(settings: Settings, fraud_scoring: bool = False) -> FastAPI:
    """The app; with ``fraud_scoring`` each new order is scored by the service at ``settings.fraud_service_url``
    (``lakehouse ecommerce serve`` turns it on; off by default so tools and tests need no fraud service)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with (
            open_context(settings, actor="api", fraud_scoring=fraud_scoring) as ctx,
            open_orders_by_customer(settings) as orders_view,
        ):
            app.state.ctx, app.state.orders_view = ctx, orders_view
            yield

    app = FastAPI(title="lakehouse e-commerce", description=__doc__, lifespan=lifespan)
    install_error_handlers(app)
    install_input_limits(app, settings.http_max_body_bytes)
    install_auth(app, settings, CONTRACT.name)
    add_write_routes(app)
    add_read_routes(app)
    return app


def add_write_routes(app: FastAPI) -> None:
    @app.post("/customers", status_code=201, responses=CUSTOMER_CREATED, dependencies=[needs("customers:write")])
    def register_customer(request: Request, body: RegisterCustomer, x_actor: Actor = None) -> JSONResponse:
        return run(request, body, x_actor)

    @app.put("/products/{product_id}", responses=PRODUCT_CREATED, dependencies=[needs("catalog:write")])
    def upsert_product(request: Request, product_id: Id, body: ProductBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, UpsertProduct(product_id=product_id, **body.model_dump()), x_actor)

    @app.put("/carts/{cart_id}", responses=RESPONSES, dependencies=[needs("carts:write")])
    def update_cart(request: Request, cart_id: Id, body: CartBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, UpdateCart(cart_id=cart_id, **body.model_dump()), x_actor)

    @app.post("/orders", status_code=201, responses=ORDER_CREATED, dependencies=[needs("orders:write")])
    def place_order(request: Request, body: PlaceOrder, x_actor: Actor = None) -> JSONResponse:
        return run(request, body, x_actor)

    @app.post(
        "/orders/{order_id}/payments", status_code=201, responses=RESPONSES, dependencies=[needs("payments:write")]
    )
    def capture_payment(request: Request, order_id: Id, body: PaymentBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, CapturePayment(order_id=order_id, **body.model_dump()), x_actor)

    @app.post(
        "/orders/{order_id}/chargebacks",
        status_code=201,
        responses=RESPONSES,
        dependencies=[needs("chargebacks:write")],
    )
    def file_chargeback(request: Request, order_id: Id, body: ChargebackBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, FileChargeback(order_id=order_id, **body.model_dump()), x_actor)


def add_read_routes(app: FastAPI) -> None:
    @app.get("/orders/{order_id}", response_model=OrderOut, dependencies=[needs("read")])
    def get_order(request: Request, order_id: Id) -> dict:
        with request.app.state.ctx.pool.connection() as conn:
            order = order_store.order_view(conn, order_id)
        if order is None:
            raise NotFound(f"order_id: order {order_id!r} does not exist")
        return order

    @app.get("/customers/{customer_id}/orders", response_model=list[CustomerOrderOut], dependencies=[needs("read")])
    def customer_orders(
        request: Request, customer_id: Id, month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    ) -> list[dict]:
        with request.app.state.ctx.pool.connection() as conn:
            known = conn.execute("SELECT 1 FROM ecommerce.customers WHERE customer_id = %s", (customer_id,)).fetchone()
        if known is None:
            raise NotFound(f"customer_id: customer {customer_id!r} does not exist")
        orders_view: OrdersByCustomer = request.app.state.orders_view
        return orders_view.orders_of(customer_id, month)

    @app.get("/products/{product_id}", response_model=ProductOut, dependencies=[needs("read")])
    def get_product(request: Request, product_id: Id) -> dict:
        product = catalog.find_product(request.app.state.ctx.products, product_id)
        if product is None:
            raise NotFound(f"product_id: product {product_id!r} is not in the catalog")
        return product.public()

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        ctx: EcommerceContext = request.app.state.ctx
        try:
            with ctx.pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1")
            ctx.products.database.command("ping")
        except Exception as error:  # any store failure means "not ready"; say which one
            return JSONResponse({"status": "unavailable", "detail": f"{type(error).__name__}: {error}"}, 503)
        return JSONResponse({"status": "ok"})


def app_from_environment() -> FastAPI:
    """The app scoring new orders, configured from ``LAKEHOUSE_*`` variables: what each uvicorn worker builds."""
    return create_app(load_settings(), fraud_scoring=True)


def unscored_app_from_environment() -> FastAPI:
    """The same without fraud scoring (``--no-fraud-scoring``)."""
    return create_app(load_settings())
