"""The IoT registry HTTP app: sites, device models, devices (registration answers the device key once), status,
key rotation, firmware releases and rollouts, device configuration, maintenance tickets, and a device's alerts.

Every write builds a command and passes it to `service.handle`, the path the fleet generator takes too. Who acts
is the ``X-Actor`` header, recorded as created_by/updated_by and in the audit log. It is trusted as sent: this app
has no authentication or roles yet (a later issue puts an identity gateway in front of it); run it on a private
network only.

Every route but /health needs an API key with the route's scope (`Authorization: Bearer <key>`): 401 without a
valid key, 403 without the scope, 429 past the key's rate.
Status codes: 201 created, 200 updated or replayed (an identical retry: ``outcome`` ``unchanged``, and no device
key: a key is shown once, rotate it for a new one), 404 unknown device, site, model, firmware or ticket, 409
conflict (a serial taken, firmware for the wrong model, an id reused with other content, a second open ticket),
422 invalid body or header (the message names the field).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from ingest.core.auth import audit_actor, install_auth, scope_dependency
from ingest.core.http import install_error_handlers, install_input_limits
from ingest.core.openapi_links import CREATED_ID, read_link, with_links
from ingest.iot import reads
from ingest.iot.api_models import (
    AcceptedOut,
    ConfigBody,
    FirmwareBody,
    KeyRotationBody,
    RolloutBody,
    StatusBody,
    TicketBody,
    TicketUpdateBody,
)
from ingest.iot.commands import (
    ChangeStatus,
    Command,
    ConfigureDevice,
    CreateDeviceModel,
    CreateSite,
    OpenTicket,
    RegisterDevice,
    ReleaseFirmware,
    RollOutFirmware,
    RotateKey,
    UpdateTicket,
)
from ingest.iot.context import IotContext, open_context
from ingest.iot.contract import CONTRACT
from ingest.iot.service import handle
from lakehouse.settings import Settings

IdPath = Annotated[str, Path(min_length=1, max_length=64)]
Actor = Annotated[str, Header(alias="X-Actor", min_length=1, max_length=64, description="who acts (recorded)")]
Limit = Annotated[int, Query(ge=1, le=500)]
RESPONSES = {201: {"model": AcceptedOut}, 200: {"model": AcceptedOut}}
NEW_DEVICE = {"device_id": CREATED_ID}
DEVICE_REGISTERED = with_links(
    RESPONSES,
    Device=read_link("GET /devices/{device_id}", NEW_DEVICE, "the new device"),
    Tickets=read_link("GET /devices/{device_id}/tickets", NEW_DEVICE, "the new device's maintenance tickets"),
    Alerts=read_link("GET /devices/{device_id}/alerts", NEW_DEVICE, "the new device's alerts"),
)
SITE_CREATED = with_links(
    RESPONSES,
    Devices=read_link("GET /sites/{site_id}/devices", {"site_id": CREATED_ID}, "the devices of the new site"),
)
needs = scope_dependency(CONTRACT.scopes)


def run(request: Request, command: Command, actor: str) -> JSONResponse:
    # IoT records the named actor bare, as before; an issued key's client goes before it.
    accepted = handle(command, request.app.state.ctx, audit_actor(request, actor, prefix=""))
    body = AcceptedOut(**asdict(accepted) | {"event_ids": list(accepted.event_ids)}).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if accepted.outcome == "created" else 200)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_context(settings) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(title="lakehouse iot registry", description=__doc__, lifespan=lifespan)
    install_error_handlers(app)
    install_input_limits(app, settings.http_max_body_bytes)
    install_auth(app, settings, CONTRACT.name)
    add_registry_routes(app)
    add_device_routes(app)
    add_ticket_routes(app)
    add_read_routes(app)
    return app


def add_registry_routes(app: FastAPI) -> None:
    @app.post("/sites", status_code=201, responses=SITE_CREATED, dependencies=[needs("registry:write")])
    def create_site(request: Request, body: CreateSite, x_actor: Actor) -> JSONResponse:
        return run(request, body, x_actor)

    @app.post("/device-models", status_code=201, responses=RESPONSES, dependencies=[needs("registry:write")])
    def create_device_model(request: Request, body: CreateDeviceModel, x_actor: Actor) -> JSONResponse:
        return run(request, body, x_actor)

    @app.post(
        "/device-models/{model_id}/firmware",
        status_code=201,
        responses=RESPONSES,
        dependencies=[needs("registry:write")],
    )
    def release(request: Request, model_id: IdPath, body: FirmwareBody, x_actor: Actor) -> JSONResponse:
        return run(request, ReleaseFirmware(model_id=model_id, **body.model_dump()), x_actor)

    @app.post(
        "/device-models/{model_id}/firmware/{version}/rollouts",
        status_code=201,
        responses=RESPONSES,
        dependencies=[needs("registry:write")],
    )
    def roll_out(request: Request, model_id: IdPath, version: str, body: RolloutBody, x_actor: Actor):
        return run(request, RollOutFirmware(model_id=model_id, version=version, **body.model_dump()), x_actor)


def add_device_routes(app: FastAPI) -> None:
    @app.post("/devices", status_code=201, responses=DEVICE_REGISTERED, dependencies=[needs("devices:write")])
    def register(request: Request, body: RegisterDevice, x_actor: Actor) -> JSONResponse:
        return run(request, body, x_actor)

    @app.put("/devices/{device_id}/status", responses=RESPONSES, dependencies=[needs("devices:write")])
    def change_status(request: Request, device_id: IdPath, body: StatusBody, x_actor: Actor) -> JSONResponse:
        return run(request, ChangeStatus(device_id=device_id, **body.model_dump()), x_actor)

    @app.post("/devices/{device_id}/key-rotations", responses=RESPONSES, dependencies=[needs("devices:write")])
    def rotate_key(request: Request, device_id: IdPath, body: KeyRotationBody, x_actor: Actor) -> JSONResponse:
        return run(request, RotateKey(device_id=device_id, **body.model_dump()), x_actor)

    @app.put("/devices/{device_id}/config", responses=RESPONSES, dependencies=[needs("devices:write")])
    def configure(request: Request, device_id: IdPath, body: ConfigBody, x_actor: Actor) -> JSONResponse:
        return run(request, ConfigureDevice(device_id=device_id, **body.model_dump()), x_actor)


def add_ticket_routes(app: FastAPI) -> None:
    @app.post(
        "/devices/{device_id}/tickets", status_code=201, responses=RESPONSES, dependencies=[needs("tickets:write")]
    )
    def open_ticket(request: Request, device_id: IdPath, body: TicketBody, x_actor: Actor) -> JSONResponse:
        return run(request, OpenTicket(device_id=device_id, **body.model_dump()), x_actor)

    @app.patch("/tickets/{ticket_id}", responses=RESPONSES, dependencies=[needs("tickets:write")])
    def update_ticket(request: Request, ticket_id: IdPath, body: TicketUpdateBody, x_actor: Actor) -> JSONResponse:
        return run(request, UpdateTicket(ticket_id=ticket_id, **body.model_dump()), x_actor)


def add_read_routes(app: FastAPI) -> None:
    @app.get("/devices/{device_id}", dependencies=[needs("read")])
    def device(request: Request, device_id: IdPath) -> dict:
        return reads.device(request.app.state.ctx, device_id)

    @app.get("/sites/{site_id}/devices", dependencies=[needs("read")])
    def site_devices(request: Request, site_id: IdPath, limit: Limit = 100) -> dict:
        return {"devices": reads.site_devices(request.app.state.ctx, site_id, limit)}

    @app.get("/devices/{device_id}/tickets", dependencies=[needs("read")])
    def tickets(request: Request, device_id: IdPath, limit: Limit = 50) -> dict:
        return {"tickets": reads.device_tickets(request.app.state.ctx, device_id, limit)}

    @app.get("/devices/{device_id}/alerts", dependencies=[needs("read")])
    def alerts(request: Request, device_id: IdPath, limit: Limit = 50) -> dict:
        return {"alerts": reads.device_alerts(request.app.state.ctx, device_id, limit)}

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        ctx: IotContext = request.app.state.ctx
        try:
            with ctx.pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1")
            ctx.configs.collection.database.command("ping")
        except Exception as error:  # any store failure means "not ready"; say which one
            return JSONResponse({"status": "unavailable", "detail": f"{type(error).__name__}: {error}"}, 503)
        return JSONResponse({"status": "ok"})


__all__ = ["create_app"]
