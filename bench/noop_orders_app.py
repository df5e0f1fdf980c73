"""A do-nothing ``POST /orders``: the same body model as the e-commerce app (validated by FastAPI), no database.

The HTTP baseline of `bench.ingest_throughput`: what the clients, uvicorn and FastAPI alone reach on this machine.
    .venv/bin/python -m uvicorn bench.noop_orders_app:app --workers 2 --port 8101
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ingest.ecommerce.commands import PlaceOrder

app = FastAPI(title="do-nothing orders")


@app.post("/orders", status_code=201)
def place_order(body: PlaceOrder) -> JSONResponse:
    return JSONResponse({"resource": "order", "id": body.order_id, "outcome": "created", "version": 1}, 201)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
