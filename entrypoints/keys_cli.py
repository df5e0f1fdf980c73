"""`lakehouse keys create|list|revoke|scopes`: the API keys of the domain apps (``ingest/core/api_keys.py``).

A key is printed once, when it is created; only its hash is stored. Rotating a key is creating the new one, moving
the client to it, then revoking the old one (both work in between).
"""

from __future__ import annotations

import argparse
import sys

from ingest.core.api_keys import KeyStore, check_scopes
from ingest.domains import DOMAINS, contract
from lakehouse.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="API keys of the domain apps: create, list, revoke, scopes")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="issue a key (printed once) for one client of one domain's app")
    create.add_argument("domain", choices=DOMAINS)
    create.add_argument("--client", required=True, help="who holds it, e.g. shop-front or payments-office")
    create.add_argument(
        "--scope", action="append", required=True, help="a scope of the domain (repeat; * for all): see `keys scopes`"
    )
    create.add_argument("--rate", type=int, help="requests per minute (default LAKEHOUSE_API_RATE_PER_MINUTE)")
    create.set_defaults(handler=cmd_create)
    listing = actions.add_parser("list", help="every key (never its secret), live or revoked")
    listing.add_argument("domain", nargs="?", choices=DOMAINS)
    listing.set_defaults(handler=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its id (the part after lhk_)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=cmd_revoke)
    scopes = actions.add_parser("scopes", help="the scopes each domain's app declares")
    scopes.add_argument("domain", nargs="?", choices=DOMAINS)
    scopes.set_defaults(handler=cmd_scopes)


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        scopes = check_scopes(args.scope, contract(args.domain).scopes, args.domain)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rate = settings.api_rate_per_minute if args.rate is None else args.rate
    if rate < 1:
        print("error: --rate must be at least 1 request per minute", file=sys.stderr)
        return 2
    issued = KeyStore(settings).issue(args.domain, args.client, scopes, rate)
    print(
        f"key {issued.principal.key_id} for {args.domain} client {args.client}: {', '.join(sorted(scopes))}, {rate}/min"
    )
    print("send it as `Authorization: Bearer <key>`; it is shown only now:")
    print(issued.key)
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = KeyStore(settings).rows(args.domain)
    for row in rows:
        who = row.principal
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        scopes = ",".join(sorted(who.scopes))
        print(f"{who.key_id}  {who.domain:<9} {who.client:<20} {scopes:<40} {who.rate_per_minute}/min  {state}")
    if not rows:
        print("no API keys yet: `lakehouse keys create DOMAIN --client NAME --scope SCOPE`")
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    if KeyStore(settings).revoke(args.key_id):
        print(f"revoked {args.key_id}; apps stop taking it within {settings.api_key_cache_s:g} s")
        return 0
    print(f"error: no live key {args.key_id} (see `lakehouse keys list`)", file=sys.stderr)
    return 1


def cmd_scopes(settings: Settings, args: argparse.Namespace) -> int:
    for domain in [args.domain] if args.domain else DOMAINS:
        for scope, meaning in contract(domain).scopes.items():
            print(f"{domain:<9} {scope:<18} {meaning}")
    return 0
