"""`handle`: the one entry for every IoT registry command, used by the HTTP app and the fleet generator alike.

It runs the command's use case (one PostgreSQL transaction), then, after the commit, writes the MongoDB
configuration documents from the committed events (the same idempotent write the relay repeats). A failure after
the commit never undoes the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ingest.core.errors import InvalidCommand
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
from ingest.iot.configuration import configure_device
from ingest.iot.context import IotContext
from ingest.iot.devices import change_status, create_device_model, create_site, register_device, rotate_key
from ingest.iot.firmware import release_firmware, roll_out_firmware
from ingest.iot.maintenance import open_ticket, update_ticket
from ingest.iot.unit_of_work import Accepted, Outcome

log = logging.getLogger(__name__)

USE_CASES: dict[type[Command], Callable[[Any, IotContext, str], Outcome]] = {
    CreateSite: create_site,
    CreateDeviceModel: create_device_model,
    RegisterDevice: register_device,
    ChangeStatus: change_status,
    RotateKey: rotate_key,
    ReleaseFirmware: release_firmware,
    RollOutFirmware: roll_out_firmware,
    ConfigureDevice: configure_device,
    OpenTicket: open_ticket,
    UpdateTicket: update_ticket,
}


def handle(command: Command, ctx: IotContext, actor: str) -> Accepted:
    """Run ``command`` as ``actor``; raises NotFound, Conflict (incl. IdempotencyConflict) or InvalidCommand."""
    use_case = USE_CASES.get(type(command))
    if use_case is None:
        raise InvalidCommand(f"no use case handles {type(command).__name__}")
    outcome = use_case(command, ctx, actor)
    try:
        ctx.configs.apply(asdict(event.envelope) for event in outcome.events)
    except Exception:  # noqa: BLE001 - committed already: the relay's projection repairs what failed here
        log.exception("configuration document write after commit failed; the relay will repeat it")
    return outcome.accepted
