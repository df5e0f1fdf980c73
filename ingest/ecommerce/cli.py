"""`lakehouse ecommerce serve|relay`: the HTTP app and the outbox relay as commands.

Wired into `lakehouse/cli.py` with ``register(commands)``; handlers follow its convention
``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from lakehouse.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ecommerce serve`` and ``ecommerce relay`` to the ``lakehouse`` command line."""
    ecommerce = subparsers.add_parser("ecommerce", help="the e-commerce domain app and its outbox relay")
    actions = ecommerce.add_subparsers(dest="ecommerce_command", required=True)

    serve = actions.add_parser("serve", help="run the HTTP app (OpenAPI docs at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument(
        "--no-fraud-scoring",
        dest="fraud_scoring",
        action="store_false",
        help="do not score new orders (by default each is scored by the service at LAKEHOUSE_FRAUD_SERVICE_URL)",
    )
    serve.set_defaults(handler=cmd_serve)

    relay = actions.add_parser("relay", help="publish the outbox to Kafka (until Ctrl-C, or one pass with --once)")
    relay.add_argument("--once", action="store_true", help="one pass, then exit")
    relay.add_argument("--batch-size", type=int, default=500)
    relay.add_argument("--poll-interval", type=float, default=0.2, help="seconds between passes when idle")
    relay.set_defaults(handler=cmd_relay)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.ecommerce.app import create_app

    uvicorn.run(create_app(settings, fraud_scoring=args.fraud_scoring), host=args.host, port=args.port)
    return 0


def cmd_relay(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.ecommerce.relay import relay_pass, run_relay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The clients narrate every connection at INFO; the relay's own progress lines are what an operator reads.
    for chatty in ("kafka", "cassandra"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.once:
        print(f"published {relay_pass(settings, args.batch_size)} events")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_relay(settings, stop, poll_interval_s=args.poll_interval, batch_size=args.batch_size)
    return 0
