"""`lakehouse serve <model> [--stop]`: a registered model service (``serving.registry``) in the background.

Wired into the ``lakehouse`` command line with ``register(commands)``; handlers follow its convention
``handler(settings, args) -> exit code``.
"""

from __future__ import annotations

import argparse

from lakehouse.settings import Settings
from serving.registry import SERVED_MODELS, served_model


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve <model>`` to the ``lakehouse`` command line."""
    serve = subparsers.add_parser("serve", help="start (or --stop) a model service in the background")
    serve.add_argument("model", choices=sorted(SERVED_MODELS))
    ports = ", ".join(f"{m.name}: {m.url_variable} ({m.default_port})" for m in SERVED_MODELS.values())
    serve.add_argument("--port", type=int, help=f"default: the port of the service's address ({ports})")
    serve.add_argument("--stop", action="store_true")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from serving.server import start_detached_server, stop_detached_server

    model = served_model(args.model)
    if args.stop:
        stopped = stop_detached_server(settings, model)
        print(f"stopped the {model.name} service" if stopped else f"no {model.name} service was running")
        return 0
    server = start_detached_server(settings, model, args.port)
    print(f"{model.name} service (champion of the MLflow registry) ready in {server.started_in_s:.0f}s at {server.url}")
    print(f"  OpenAPI docs: {server.url}/docs   metrics: {server.url}/metrics   log: {server.log_path}")
    if model.try_hint:
        print(f"  try: {model.try_hint.format(url=server.url)}")
    print(f"  stop: lakehouse serve {model.name} --stop")
    return 0
