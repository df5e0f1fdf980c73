"""`lakehouse generate ecommerce` and `lakehouse import ecommerce`: traffic into the app's own use cases.

Both feed every command through ``service.handle`` (the path an HTTP request takes), then run one relay pass
so the events are on Kafka when the command returns (``--no-relay`` leaves that to `lakehouse ecommerce relay`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ingest.ecommerce.commands import Command
from lakehouse.settings import Settings


@contextmanager
def app_sink(settings: Settings, actor: str) -> Iterator[Callable[[Command], None]]:
    """A sink that executes each command in the e-commerce app (PostgreSQL + outbox, MongoDB catalog)."""
    from ingest.ecommerce.context import open_context
    from ingest.ecommerce.service import handle

    with open_context(settings, actor=actor) as ctx:
        yield lambda command: handle(command, ctx) and None


def register_traffic(generate: argparse._SubParsersAction, importer: argparse._SubParsersAction) -> None:
    parser = generate.add_parser("ecommerce", help="customers, merchants, products and orders with labelled fraud")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--count", type=int, default=1000, help="orders to generate (count mode)")
    parser.add_argument("--rate", type=float, help="orders per second: live traffic stamped with the wall clock")
    parser.add_argument("--days", type=int, default=30, help="simulated window ending at --now")
    parser.add_argument("--now", type=datetime.fromisoformat, help="end of the window, e.g. 2026-06-01T00:00+00:00")
    parser.add_argument("--fraud-rate", type=float, default=0.02)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument(
        "--chargeback-delay-days",
        type=float,
        help="every chargeback exactly this many days after its order (default: realistic, mostly 1-3 weeks)",
    )
    parser.add_argument("--no-relay", action="store_true", help="leave the outbox for `lakehouse ecommerce relay`")
    parser.set_defaults(handler=cmd_generate)

    parser = importer.add_parser("ecommerce", help="a transaction history from CSV (see ingest/ecommerce/importer.py)")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--mapping", default="", help="column overrides, e.g. transaction_id=tx_id,timestamp=ts")
    parser.add_argument("--country", default="FR")
    parser.add_argument("--chargeback-delay-days", type=float, default=7.0)
    parser.add_argument("--id-prefix", default="")
    parser.add_argument("--no-relay", action="store_true")
    parser.add_argument("--batch-rows", type=int, default=5000, help="rows per transaction of the bulk path")
    parser.add_argument("--per-command", action="store_true", help="one transaction per command (the slow path)")
    parser.set_defaults(handler=cmd_import)


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.ecommerce.fraud_patterns import FraudConfig
    from ingest.ecommerce.generator import generate
    from ingest.ecommerce.population import PopulationConfig
    from ingest.ecommerce.traffic import TrafficConfig

    config = TrafficConfig(
        seed=args.seed,
        count=None if args.rate and not args.count else args.count,
        rate=args.rate,
        days=args.days,
        now=args.now,
        fraud=FraudConfig(rate=args.fraud_rate),
        chargeback_delay_days=args.chargeback_delay_days,
        progress_every=max(1, (args.count or 1000) // 10),
        population=PopulationConfig(customers=args.customers, merchants=args.merchants),
    )
    with app_sink(settings, actor="generator") as sink:
        summary = generate(config, sink, print)
    print(summary.describe())
    return _relay(settings, args.no_relay)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.ecommerce.importer import import_csv
    from ingest.ecommerce.transaction_csv import ColumnMapping
    from ingest.ecommerce.transaction_rows import ImportOptions

    options = ImportOptions(
        country=args.country, chargeback_delay_days=args.chargeback_delay_days, id_prefix=args.id_prefix
    )
    mapping = ColumnMapping.parse(args.mapping) if args.mapping else None
    if not args.per_command:
        from ingest.ecommerce.cli import cmd_bulk_import  # imports this module: resolved at call time

        return cmd_bulk_import(settings, args, replace(options, **({"mapping": mapping} if mapping else {})))
    with app_sink(settings, actor="importer") as sink:
        summary = import_csv(args.csv, mapping, sink, print, options)
    print(summary.describe())
    return _relay(settings, args.no_relay)


def _relay(settings: Settings, skip: bool) -> int:
    if not skip:
        from ingest.core.relay import relay_pass, sources_in

        published = relay_pass(settings, sources_in("ingest.ecommerce.relay"))
        print(f"relay: published {published} events to Kafka")
    return 0
