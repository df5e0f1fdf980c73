"""`lakehouse ecommerce serve|relay`, `lakehouse generate|import ecommerce`: the HTTP app, the kit's outbox relay,
the traffic generator and the importer (bulk by default) as commands.

Wired into the top-level command line by the domain registry (``register`` and ``register_traffic``); handlers
follow its convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse

from ingest.core.cli import domain_commands, refused_to_serve
from ingest.core.relay import sources_in
from ingest.ecommerce.traffic_cli import _relay as relay_after_import
from ingest.ecommerce.traffic_cli import register_traffic
from ingest.ecommerce.transaction_rows import ImportOptions
from lakehouse.settings import Settings

__all__ = ["cmd_bulk_import", "register", "register_traffic"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ecommerce serve`` and ``ecommerce relay`` to the ``lakehouse`` command line."""
    help_text = "the e-commerce domain app and its outbox relay"
    actions = domain_commands(subparsers, "ecommerce", help_text, sources_in("ingest.ecommerce.relay"))
    serve = actions.add_parser("serve", help="run the HTTP app (OpenAPI docs at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument(
        "--no-fraud-scoring",
        dest="fraud_scoring",
        action="store_false",
        help="do not score new orders (by default each is scored by the service at LAKEHOUSE_FRAUD_SERVICE_URL)",
    )
    serve.add_argument("--workers", type=int, default=1, help="processes (PostgreSQL commits overlap across them)")
    serve.set_defaults(handler=cmd_serve)
    rescore = actions.add_parser(
        "rescore", help="score the orders whose fraud check never finished (the app died between commit and verdict)"
    )
    # Defaults (None here) are the rescoring module's own GRACE and MAX_ATTEMPTS, read when the command runs.
    rescore.add_argument(
        "--grace-s", type=float, help="leave younger orders to the app's own check (default: rescoring.GRACE)"
    )
    rescore.add_argument(
        "--max-attempts", type=int, help="failed tries before an unscored hold (default: rescoring.MAX_ATTEMPTS)"
    )
    rescore.set_defaults(handler=cmd_rescore)


def cmd_rescore(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ingest.ecommerce.context import open_context
    from ingest.ecommerce.rescoring import GRACE, MAX_ATTEMPTS, rescore_owed

    grace = GRACE if args.grace_s is None else timedelta(seconds=args.grace_s)
    attempts = MAX_ATTEMPTS if args.max_attempts is None else args.max_attempts
    with open_context(settings, actor="cli:fraud-rescoring", fraud_scoring=True) as ctx:
        report = rescore_owed(ctx, grace=grace, max_attempts=attempts)
    outcomes = ", ".join(f"{decision} {count}" for decision, count in sorted(report.outcomes.items())) or "none"
    print(f"{report.owed} orders owed a fraud check; outcomes: {outcomes}; {report.held} held for review")
    if report.held:
        print("their status changes and held notices wait in the outbox: `lakehouse ecommerce relay` publishes them")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.ecommerce.app import create_app

    settings.require_card_token_key(args.host)  # a listener off loopback takes real cards: no development key
    if refused_to_serve(settings, args.host):
        return 2
    if args.workers > 1:  # each worker process builds its own app from the LAKEHOUSE_* environment
        factory = "app_from_environment" if args.fraud_scoring else "unscored_app_from_environment"
        uvicorn.run(
            f"ingest.ecommerce.app:{factory}",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
        )
        return 0
    uvicorn.run(create_app(settings, fraud_scoring=args.fraud_scoring), host=args.host, port=args.port)
    return 0


def cmd_bulk_import(settings: Settings, args: argparse.Namespace, options: ImportOptions) -> int:
    """`lakehouse import ecommerce FILE`: the bulk path (see ``bulk_import.py``), then one relay pass."""
    from ingest.ecommerce.bulk_import import bulk_import_csv
    from ingest.ecommerce.context import open_context

    with open_context(settings, actor="importer") as ctx:
        summary = bulk_import_csv(args.csv, ctx, print, options, batch_rows=args.batch_rows)
    print(summary.describe())
    return relay_after_import(settings, args.no_relay)
