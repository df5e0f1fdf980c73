"""`lakehouse generate iot` and `lakehouse import iot`: a simulated fleet's telemetry, or a real series replayed.

Both post through the telemetry gateway (``LAKEHOUSE_TELEMETRY_GATEWAY_URL``, `lakehouse iot gateway`), as devices
would; the Cassandra writer and the lake read what it produced. ``generate iot`` registers the seeded fleet first
(`ingest.iot.fleet.generate_fleet`); a device registered by an earlier run gets a new key
(`registry.rotate_device_key`: its old key stops working), since a key is only ever shown once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lakehouse.settings import Settings


def register_traffic(generators: argparse._SubParsersAction, importers: argparse._SubParsersAction) -> None:
    """Add ``generate iot`` and ``import iot``."""
    parser = generators.add_parser("iot", help="register a seeded fleet and stream its simulated telemetry")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--days", type=int, default=3, help="the window of readings, ending now")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500, help="readings per posted batch")
    parser.add_argument("--clients", type=int, default=4, help="devices posting at once")
    parser.add_argument("--no-relay", action="store_true", help="leave the registry's outbox for `lakehouse iot relay`")
    parser.set_defaults(handler=cmd_generate)

    parser = importers.add_parser("iot", help="replay a timestamp,value series (NAB format) as a device's telemetry")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--device", required=True, help="the device id (registered at the replay site if new)")
    parser.add_argument("--sensor", default="value", help="the sensor the values are readings of")
    parser.add_argument("--speed", type=float, default=0, help="0: as fast as possible; N: N x real time")
    parser.add_argument("--device-key", default=None, help="the device's key (default: issue a new one)")
    parser.add_argument("--owner", default="u-000001", help="the owner of a newly registered device")
    parser.set_defaults(handler=cmd_import)


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from ingest.iot.fleet import fleet_keys, generate_fleet
    from ingest.iot.fleet_feed import feed_fleet, fleet_series

    fleet = generate_fleet(settings, devices=args.devices, seed=args.seed, sites=args.sites)
    keys = fleet_keys(settings, fleet)
    if not args.no_relay:
        from ingest.core.relay import relay_pass, sources_in

        print(f"relay: published {relay_pass(settings, sources_in('ingest.iot.relay'))} registry events to Kafka")
    series = fleet_series(fleet, days=args.days, seed=args.seed)
    with httpx.Client(base_url=settings.telemetry_gateway_url, timeout=60) as client:
        totals = feed_fleet(client, fleet, keys, series, batch_size=args.batch_size, clients=args.clients)
    print(f"fleet of seed {args.seed}: {len(fleet)} devices, {len(series.readings)} simulated readings")
    print(f"gateway accepted {totals.readings} readings in {totals.batches} batches; {len(totals.problems)} refused")
    for problem in totals.problems[:20]:
        print(f"  refused: {problem}")
    print(f"labelled faults ({len(series.faults)}):")
    for fault in series.faults.sort_values(["device_id", "start"]).itertuples():
        print(f"  {fault.device_id} {fault.sensor} {fault.kind}: {fault.start} .. {fault.end}")
    return 0 if not totals.problems else 1


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from ingest.iot.replay import replay_file

    with httpx.Client(base_url=settings.telemetry_gateway_url, timeout=60) as client:
        totals = replay_file(
            settings,
            client,
            args.csv,
            args.device,
            sensor=args.sensor,
            speed=args.speed,
            key=args.device_key,
            owner_id=args.owner,
        )
    print(f"{args.csv}: {totals.rows} rows, {totals.accepted} readings accepted in {totals.batches} batches")
    for problem in totals.problems:
        print(f"  not imported: {problem}")
    return 0
