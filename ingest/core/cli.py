"""Commands every domain gets on the `lakehouse` command line: ``lakehouse <domain> relay`` and
``lakehouse <domain> notifications`` (runs the NATS consumers of the domain's ``SUBSCRIPTIONS``).

A domain's own `cli.py` adds its parser with `domain_commands` and its app's ``serve`` command; handlers follow
the top-level convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ingest.core.api_keys import require_no_dev_keys
from ingest.core.relay import OpenSources, relay_pass, run_relay
from lakehouse.settings import Settings


def domain_commands(
    subparsers: argparse._SubParsersAction, domain: str, help_text: str, open_sources: OpenSources
) -> argparse._SubParsersAction:
    """Add ``lakehouse <domain>`` with its ``relay`` and ``notifications`` commands; returns its subcommands."""
    parser = subparsers.add_parser(domain, help=help_text)
    actions = parser.add_subparsers(dest=f"{domain}_command", required=True)
    relay = actions.add_parser(
        "relay", help="publish the outbox to Kafka, notifications also to NATS (until Ctrl-C, or one pass with --once)"
    )
    relay.add_argument("--once", action="store_true", help="one pass, then exit")
    relay.add_argument("--batch-size", type=int, default=500)
    relay.add_argument("--poll-interval", type=float, default=0.2, help="seconds between passes when idle")
    relay.set_defaults(handler=lambda settings, args: cmd_relay(settings, args, open_sources))
    consume = actions.add_parser(
        "notifications", help="handle the NATS notifications the domain subscribes to (until Ctrl-C, or --until-idle)"
    )
    consume.add_argument("--until-idle", action="store_true", help="stop once nothing is waiting")
    consume.set_defaults(handler=lambda settings, args: cmd_notifications(settings, args, domain))
    return actions


def cmd_notifications(settings: Settings, args: argparse.Namespace, domain: str) -> int:
    from ingest.core.notifications import run_consumers, subscriptions_of

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    subscriptions = subscriptions_of(domain)
    if not subscriptions:
        print(f"{domain} subscribes to no notifications (no ingest/{domain}/notifications.py SUBSCRIPTIONS)")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    report = run_consumers(settings, domain, subscriptions, until_idle=args.until_idle, stop=stop)
    print(f"{domain} notifications: {report}")
    return 0


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


def refused_to_serve(settings: Settings, host: str) -> bool:
    """Whether an app's ``serve`` must not start on ``host`` (development keys off loopback); says why on stderr."""
    try:
        require_no_dev_keys(settings, host)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return True
    return False
