"""`lakehouse iot gateway|telemetry-writer`: the telemetry gateway and the Cassandra writer.

Registered by the domain's `lakehouse iot` command line (``ingest/iot/cli.py``); handlers follow the convention
``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse

from lakehouse.settings import Settings, host_port


def register_telemetry(actions: argparse._SubParsersAction) -> None:
    """Add ``iot gateway`` and ``iot telemetry-writer`` to ``lakehouse iot``'s actions."""
    gateway = actions.add_parser("gateway", help="run the telemetry gateway devices post to (OpenAPI docs at /docs)")
    gateway.add_argument("--host", default=None, help="default: the host of LAKEHOUSE_TELEMETRY_GATEWAY_URL")
    gateway.add_argument("--port", type=int, default=None, help="default: its port (8005)")
    gateway.add_argument("--workers", type=int, default=1, help="processes (each with its own producer and cache)")
    gateway.set_defaults(handler=cmd_gateway)
    writer = actions.add_parser("telemetry-writer", help="write iot.telemetry to Cassandra (consumer group)")
    writer.add_argument(
        "--until-idle",
        action="store_true",
        help="a batch run: read the whole topic as the group (without joining it), stop once caught up and idle",
    )
    writer.set_defaults(handler=cmd_telemetry_writer)


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host, port = host_port(settings.telemetry_gateway_url, 8005)
    host, port = args.host or host, args.port or port
    if args.workers > 1:  # each worker process builds its own app from the LAKEHOUSE_* environment
        uvicorn.run(
            "ingest.iot.gateway:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_level="warning",
        )
        return 0
    from ingest.iot.gateway import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0


def cmd_telemetry_writer(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.iot.cassandra_writer import run_writer

    totals = run_writer(settings, until_idle=args.until_idle)
    print(f"wrote {totals.readings} readings from {totals.messages} messages; {totals.dead} dead-lettered")
    for reason in totals.reasons:
        print(f"  dead letter: {reason}")
    return 0
