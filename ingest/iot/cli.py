"""`lakehouse iot serve|relay|notifications|fleet|rotate-key` (and the gateway helper's ``gateway`` and
``telemetry-writer``), `lakehouse generate iot`, `lakehouse import iot`: the registry app, the kit's outbox relay,
a seeded fleet's registration, a device key's rotation, and the telemetry tools.

Wired into the top-level command line by the domain registry (``register`` and ``register_traffic``); handlers
follow its convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse

from ingest.core.cli import domain_commands, refused_to_serve
from ingest.core.relay import relay_pass, sources_in
from ingest.iot.telemetry_cli import register_telemetry
from ingest.iot.traffic_cli import register_traffic
from lakehouse.settings import Settings, host_port

OPEN_SOURCES = sources_in("ingest.iot.relay")

__all__ = ["OPEN_SOURCES", "register", "register_traffic"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lakehouse iot ...`` to the ``lakehouse`` command line."""
    actions = domain_commands(subparsers, "iot", "the IoT registry app, its outbox relay and telemetry", OPEN_SOURCES)
    serve = actions.add_parser("serve", help="run the registry HTTP app (OpenAPI docs at /docs)")
    serve.add_argument("--host", default=None, help="default: the host of LAKEHOUSE_IOT_APP_URL")
    serve.add_argument("--port", type=int, default=None, help="default: its port (8004)")
    serve.set_defaults(handler=cmd_serve)
    fleet = actions.add_parser("fleet", help="register a seeded fleet (sites, models, devices, firmware, configs)")
    fleet.add_argument("--devices", type=int, default=20)
    fleet.add_argument("--seed", type=int, default=42)
    fleet.add_argument("--sites", type=int, default=3)
    fleet.add_argument("--no-relay", action="store_true", help="leave the outbox for `lakehouse iot relay`")
    fleet.set_defaults(handler=cmd_fleet)
    rotate = actions.add_parser("rotate-key", help="issue a new key for a device (printed once)")
    rotate.add_argument("device_id")
    rotate.add_argument("--actor", default="cli")
    rotate.set_defaults(handler=cmd_rotate_key)
    register_telemetry(actions)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.iot.app import create_app

    host, port = host_port(settings.iot_app_url, 8004)
    if refused_to_serve(settings, args.host or host):
        return 2
    uvicorn.run(create_app(settings), host=args.host or host, port=args.port or port)
    return 0


def cmd_fleet(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.iot.fleet import generate_fleet

    fleet = generate_fleet(settings, devices=args.devices, seed=args.seed, sites=args.sites)
    new = sum(device.key is not None for device in fleet)
    print(f"fleet of seed {args.seed}: {len(fleet)} devices, {new} newly registered (their keys were issued now)")
    if not args.no_relay:
        print(f"relay: published {relay_pass(settings, OPEN_SOURCES)} events to Kafka")
    return 0


def cmd_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from ingest.core.errors import DomainError
    from ingest.core.unit_of_work import set_actor
    from ingest.iot.registry import rotate_device_key

    with psycopg.connect(settings.postgres_url) as conn:
        set_actor(conn, "iot", args.actor)
        try:
            print(rotate_device_key(conn, device_id=args.device_id, actor=args.actor))
        except DomainError as error:
            print(error)
            return 1
    return 0
