"""Commands every domain gets on the `lakehouse` command line: ``lakehouse <domain> relay``.

A domain's own `cli.py` adds its parser with `domain_commands` and its app's ``serve`` command; handlers follow
the top-level convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ingest.core.relay import OpenSources, relay_pass, run_relay
from lakehouse.settings import Settings


def domain_commands(
    subparsers: argparse._SubParsersAction, domain: str, help_text: str, open_sources: OpenSources
) -> argparse._SubParsersAction:
    """Add ``lakehouse <domain>`` with its ``relay`` command; returns the domain's subcommands for more."""
    parser = subparsers.add_parser(domain, help=help_text)
    actions = parser.add_subparsers(dest=f"{domain}_command", required=True)
    relay = actions.add_parser("relay", help="publish the outbox to Kafka (until Ctrl-C, or one pass with --once)")
    relay.add_argument("--once", action="store_true", help="one pass, then exit")
    relay.add_argument("--batch-size", type=int, default=500)
    relay.add_argument("--poll-interval", type=float, default=0.2, help="seconds between passes when idle")
    relay.set_defaults(handler=lambda settings, args: cmd_relay(settings, args, open_sources))
    return actions


def cmd_relay(settings: Settings, args: argparse.Namespace, open_sources: OpenSources) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The clients narrate every connection at INFO; the relay's own progress lines are what an operator reads.
    for chatty in ("kafka", "cassandra"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.once:
        print(f"published {relay_pass(settings, open_sources, args.batch_size)} events")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_relay(settings, open_sources, stop, poll_interval_s=args.poll_interval, batch_size=args.batch_size)
    return 0
