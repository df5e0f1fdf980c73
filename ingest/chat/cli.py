"""`lakehouse chat serve|relay|moderate-pending`, `lakehouse generate chat`, `lakehouse import chat`: the HTTP app,
the kit's outbox relay, the moderation of queued messages, the conversation generator and the history importer.

Wired into the top-level command line by the domain registry (``register`` and ``register_traffic``); handlers
follow its convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ingest.core.cli import domain_commands, refused_to_serve
from ingest.core.relay import relay_pass, sources_in
from lakehouse.settings import Settings

OPEN_SOURCES = sources_in("ingest.chat.relay")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chat serve``, ``chat relay`` and ``chat moderate-pending`` to the ``lakehouse`` command line."""
    actions = domain_commands(subparsers, "chat", "the chat domain app and its outbox relay", OPEN_SOURCES)
    serve = actions.add_parser("serve", help="run the HTTP app (OpenAPI docs at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8002)
    serve.add_argument(
        "--no-moderation",
        dest="moderation",
        action="store_false",
        help="queue new messages for moderate-pending instead of asking LAKEHOUSE_SENTIMENT_SERVICE_URL",
    )
    serve.set_defaults(handler=cmd_serve)
    pending = actions.add_parser("moderate-pending", help="score the messages accepted while the service was down")
    pending.add_argument("--limit", type=int, default=500, help="messages per pass")
    pending.set_defaults(handler=cmd_moderate_pending)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.chat.app import create_app

    if refused_to_serve(settings, args.host):
        return 2
    uvicorn.run(create_app(settings, moderation=args.moderation), host=args.host, port=args.port)
    return 0


def cmd_moderate_pending(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.chat.context import open_context
    from ingest.chat.moderation_record import moderate_pending
    from serving.sentiment.contract import SentimentServiceError

    total = 0
    with open_context(settings, actor="moderation") as ctx:
        try:
            while (decided := moderate_pending(ctx, limit=args.limit)) > 0:
                total += decided
        except SentimentServiceError as error:  # the queue keeps the messages, with this reason
            print(f"moderated {total} messages, then stopped: {error}")
            return 1
    print(f"moderated {total} messages")
    return 0


def register_traffic(generate: argparse._SubParsersAction, importer: argparse._SubParsersAction) -> None:
    parser = generate.add_parser("chat", help="conversations in rooms, from real sentences with their sentiment")
    parser.add_argument("--count", type=int, default=1000, help="messages to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--users", type=int, default=200, help="users drawn from u-000001 ...")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--days", type=int, default=7, help="simulated window ending now")
    parser.add_argument("--no-relay", action="store_true", help="leave the outbox for `lakehouse chat relay`")
    parser.set_defaults(handler=cmd_generate)

    parser = importer.add_parser("chat", help="a message history from CSV (see ingest/chat/importer.py)")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--mapping", default="", help="column overrides, e.g. message_id=id,text=body")
    parser.add_argument("--id-prefix", default="")
    parser.add_argument("--no-relay", action="store_true")
    parser.set_defaults(handler=cmd_import)


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.chat.context import open_context
    from ingest.chat.generator import GeneratorConfig, generate
    from ingest.chat.service import handle

    config = GeneratorConfig(count=args.count, seed=args.seed, users=args.users, rooms=args.rooms, days=args.days)
    with open_context(settings, actor="generator") as ctx:
        summary = generate(config, lambda command: handle(command, ctx), settings, print)
    print(summary.describe())
    return _relay(settings, args.no_relay)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.chat.context import open_context
    from ingest.chat.importer import ColumnMapping, import_csv
    from ingest.chat.service import handle

    mapping = ColumnMapping.parse(args.mapping) if args.mapping else ColumnMapping()
    with open_context(settings, actor="importer") as ctx:
        summary = import_csv(args.csv, lambda command: handle(command, ctx), mapping, args.id_prefix, print)
    print(summary.describe())
    return _relay(settings, args.no_relay)


def _relay(settings: Settings, skip: bool) -> int:
    if not skip:
        print(f"relay: published {relay_pass(settings, OPEN_SOURCES)} events to Kafka")
    return 0
