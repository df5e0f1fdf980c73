"""`lakehouse social serve|relay|moderate-pending` and `lakehouse generate|import social`.

Wired into the top-level command line by the domain registry (``register`` and ``register_traffic``); handlers
follow its convention ``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse

from ingest.core.cli import domain_commands, refused_to_serve
from ingest.core.relay import sources_in
from ingest.social.traffic_cli import register_traffic
from lakehouse.settings import Settings

__all__ = ["register", "register_traffic"]


def register(subparsers: argparse._SubParsersAction) -> None:
    help_text = "the social domain app, its outbox relay and its moderation backlog"
    actions = domain_commands(subparsers, "social", help_text, sources_in("ingest.social.relay"))
    serve = actions.add_parser("serve", help="run the HTTP app (OpenAPI docs at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8003)
    serve.add_argument(
        "--no-moderation", dest="moderation", action="store_false", help="queue new content without asking the service"
    )
    serve.set_defaults(handler=cmd_serve)
    pending = actions.add_parser("moderate-pending", help="score posts and comments the service could not judge yet")
    pending.add_argument("--limit", type=int, default=500, help="items per pass")
    pending.set_defaults(handler=cmd_moderate_pending)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.social.app import create_app

    if refused_to_serve(settings, args.host):
        return 2
    uvicorn.run(create_app(settings, moderation=args.moderation), host=args.host, port=args.port)
    return 0


def cmd_moderate_pending(settings: Settings, args: argparse.Namespace) -> int:
    from psycopg_pool import ConnectionPool

    from ingest.core.moderation import pending_count
    from ingest.social.moderation import moderate_pending

    with ConnectionPool(settings.postgres_url, min_size=1, max_size=2, name="social-moderation") as pool:
        total = 0
        while (decided := moderate_pending(settings, pool, args.limit)) > 0:
            total += decided
        print(f"moderated {total} posts and comments; {pending_count(pool, 'social')} still queued")
    return 0
