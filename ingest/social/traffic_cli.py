"""`lakehouse generate social` and `lakehouse import social`: traffic into the app's own use cases (`service.handle`,
the path an HTTP request takes), then one relay pass so the events are on Kafka (``--no-relay`` leaves it)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ingest.social.commands import Command
from lakehouse.settings import Settings


@contextmanager
def app_sink(settings: Settings, actor: str) -> Iterator[Callable[[Command], object]]:
    from ingest.social.context import open_context
    from ingest.social.service import handle

    with open_context(settings, actor=actor, views=False) as ctx:
        yield lambda command: handle(command, ctx)


def register_traffic(generate: argparse._SubParsersAction, importer: argparse._SubParsersAction) -> None:
    parser = generate.add_parser("social", help="users, follows, posts, comments, reactions and reviews")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--count", type=int, default=200, help="posts to generate")
    parser.add_argument("--users", type=int, help="users (default: one per 4 posts, at least 20)")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--now", type=datetime.fromisoformat, help="end of the window (default today 00:00 UTC)")
    parser.add_argument("--id-prefix", default="")
    parser.add_argument("--no-relay", action="store_true", help="leave the outbox for `lakehouse social relay`")
    parser.set_defaults(handler=cmd_generate)

    parser = importer.add_parser("social", help="a post history from CSV (see ingest/social/importer.py)")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--mapping", default="", help="column overrides, e.g. post_id=id,author_id=user")
    parser.add_argument("--id-prefix", default="")
    parser.add_argument("--no-relay", action="store_true")
    parser.set_defaults(handler=cmd_import)


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.core.reference_text import load_sentences
    from ingest.social.generator import SocialTraffic, generate

    config = SocialTraffic(
        seed=args.seed, count=args.count, users=args.users, days=args.days, now=args.now, id_prefix=args.id_prefix
    )
    sentences = load_sentences(settings.shared_data_dir)
    with app_sink(settings, actor="generator") as sink:
        print(generate(config, sentences, sink, print).describe())
    return _relay(settings, args.no_relay)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.social.importer import import_csv

    with app_sink(settings, actor=f"importer:{args.csv.name}") as sink:
        print(import_csv(args.csv, sink, args.mapping, args.id_prefix).describe())
    return _relay(settings, args.no_relay)


def _relay(settings: Settings, skip: bool) -> int:
    if not skip:
        from ingest.social.relay import relay_pass

        print(f"relay: published {relay_pass(settings)} events to Kafka")
    return 0
