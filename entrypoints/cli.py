"""`lakehouse`: the command line of the platform (stack, bootstrap, main job, UIs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module
from urllib.parse import urlsplit

from pydantic import ValidationError

from lakehouse.settings import Settings, UnsafeSetting, load_settings


def _human_bytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size else "-"


def cmd_stack(settings: Settings, args: argparse.Namespace) -> int:
    from stack.manager import Stack

    stack = Stack(settings)
    if args.action == "install":
        from stack.install import install_all

        install_all(settings)
    elif args.action == "up":
        stack.up(args.services)
        _print_status(stack.status(args.services))
    elif args.action == "down":
        stack.down(args.services)
    elif args.action == "status":
        statuses = stack.status(args.services)
        _print_status(statuses)
        return 0 if all(status.healthy for status in statuses) else 1
    elif args.action == "logs":
        if len(args.services) != 1:
            raise SystemExit("usage: lakehouse stack logs SERVICE [-n LINES]")
        print(stack.logs(args.services[0], args.lines))
    return 0


def _print_status(statuses: list) -> None:
    print(f"{'service':<10} {'address':<22} {'where':<9} {'pid':>7} {'rss':>9}  health")
    total = 0
    for status in statuses:
        where = "local" if status.local else "external"
        health = ("healthy: " if status.healthy else "DOWN: ") + status.detail
        pid = str(status.pid) if status.pid else "-"
        total += status.rss_bytes
        print(
            f"{status.name:<10} {status.address:<22} {where:<9} {pid:>7} {_human_bytes(status.rss_bytes):>9}  {health}"
        )
    print(f"{'total':<10} {'':<22} {'':<9} {'':>7} {_human_bytes(total):>9}")


def cmd_bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.domains import storage_declarations
    from stack.bootstrap import apply_all

    apply_all(settings, storage_declarations())
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints.main_job import run_main_job

    sizes = {"orders": args.orders, "messages": args.messages, "posts": args.posts, "devices": args.devices}
    report = run_main_job(settings, **sizes, days=args.days, seed=args.seed, retrain=args.retrain)
    print(f"\nMain job finished in {report.seconds:.0f}s")
    print(f"  {report.traffic.describe()}")
    for line in report.community:
        print(f"  {line}")
    print(f"  events published to Kafka: {report.events_published:,}")
    print(f"  moderated by the sentiment service: {', '.join(f'{n:,} {d}' for d, n in report.moderated.items())}\n")
    print(f"  {'layer':<11} {'table':<36} {'rows':>9}")
    for count in report.tables:
        rows = f"{count.rows:,}" if count.rows is not None else "-"
        print(f"  {count.layer:<11} {count.table:<36} {rows:>9}")
    print("\n  quarantine reasons:" if report.quarantine else "\n  quarantine: empty (no malformed events)")
    for reason, count in report.quarantine:
        print(f"    {count:>7,}  {reason}")
    print(f"\n  lake root: {settings.lake_uri}")
    print(f"  fraud model champion: {report.champion_version or 'none yet'}")
    print("\n  new orders placed through the app, with the fraud service's decision:")
    for demo in report.demo_orders:
        score = f"{demo.score:.3f}" if demo.score is not None else "-"
        print(f"    {demo.order_id}  {demo.amount:>9,.2f}  {demo.decision:<9} score {score:<6} {demo.label}")
        print(f"      ({demo.detail})")
    print(f"\n  sentiment model champion: {report.sentiment_version}; chat messages moderated live:")
    for message in report.live_messages:
        verdict = "FLAGGED" if message.flagged else "ok"
        print(
            f"    {verdict:<7} label {message.label} (true {message.truth})  P(positive) {message.score:.3f}"
            f"  decided {message.when}"
        )
        print(f'      "{message.text[:90]}"  ({message.reason})')
    print("\n  held orders told in the customers' support chats (e-commerce → NATS → chat):")
    for notice in report.notices:
        print(f"    {notice.room_id}: {notice.text}")
    if not report.notices:
        print("    none (every demo order was approved)")
    if report.iot is not None:
        print_iot(report)
    print()
    print("Next: `.venv/bin/lakehouse ui dagster`  → http://127.0.0.1:3000 (this run is listed under Runs)")
    print(f"      `.venv/bin/lakehouse ui mlflow`   → {settings.mlflow_ui_url}")
    print("      `.venv/bin/lakehouse ecommerce serve` → http://127.0.0.1:8001/docs (the e-commerce app)")
    print("      `.venv/bin/lakehouse chat serve` → http://127.0.0.1:8002/docs, `lakehouse social serve` → :8003/docs")
    if report.sentiment_service_url:
        print(
            f"      sentiment service (running) → {report.sentiment_service_url}/docs"
            "   stop: `lakehouse serve sentiment --stop`"
        )
    if report.fraud_service_url:
        print(f"      fraud service (running) → {report.fraud_service_url}/docs   stop: `lakehouse serve fraud --stop`")
    if report.anomaly_service_url:
        print(
            f"      anomaly service (running) → {report.anomaly_service_url}/docs"
            "   stop: `lakehouse serve anomaly --stop`"
        )
    print("      `.venv/bin/lakehouse iot serve` → http://127.0.0.1:8004/docs, `lakehouse iot gateway` → :8005/docs")
    print("      the apps take `Authorization: Bearer dev-<domain>-key` on loopback; `lakehouse keys` issues real ones")
    return 0


def print_iot(report) -> None:  # MainJobReport (imported lazily: the main job pulls in Spark)
    iot = report.iot
    print(f"\n  IoT (anomaly detector champion v{report.anomaly_version}):")
    for line in iot.lines():
        print(f"    {line}")
    alerts = iot.replay_alerts
    print(f"\n  alerts on the replayed NAB series ({iot.replay_device}, {iot.replay_rows:,} readings): {len(alerts)}")
    for alert in alerts:
        print(f"    {alert.reading_at:%Y-%m-%d %H:%M}  value {alert.value:>9.3f}  score {alert.anomaly_score:.3f}")
    print("\n  its maintenance tickets, and what the owner's chat was told (IoT → NATS → chat):")
    for notice in report.device_notices:
        print(f"    {notice.ticket_id} ({notice.status}, {notice.alert_count} alerts)")
    told = next((notice for notice in report.device_notices if notice.chat_text), None)
    print(f"    {told.chat_room}: {told.chat_text}" if told else "    nothing yet (no alert on this device)")


def cmd_ui(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints.instances import dagster_environment, dagster_ui_command, mlflow_ui_command
    from entrypoints.ui import run_ui

    url_path = ""
    if args.which == "dagster":
        port = args.port or 3000
        command, env = dagster_ui_command(port=port), dagster_environment(settings)
    elif args.which == "notebooks":
        import secrets

        from entrypoints.notebooks import notebooks_ui_command

        port, token = args.port or 8888, secrets.token_urlsafe(16)
        command, env, url_path = notebooks_ui_command(port, token), {}, f"/lab?token={token}"
    else:
        port = args.port or urlsplit(settings.mlflow_ui_url).port or 5000
        command, env = mlflow_ui_command(settings, port=port), {}
    return run_ui(
        f"the {args.which} UI",
        command,
        env,
        f"http://127.0.0.1:{port}{url_path}",
        say=lambda line: print(line, flush=True),
    )


def register_domains(commands: argparse._SubParsersAction) -> None:
    """``lakehouse <domain> ...``, ``lakehouse generate <domain>`` and ``lakehouse import <domain>`` for every
    registered domain, from its ``ingest/<domain>/cli.py``."""
    from ingest.domains import DOMAINS

    generate = commands.add_parser("generate", help="synthetic traffic for a domain, through its app")
    importer = commands.add_parser("import", help="a real history from a file, through the domain's app")
    generators = generate.add_subparsers(dest="domain", required=True)
    importers = importer.add_subparsers(dest="domain", required=True)
    for domain in DOMAINS:
        cli = import_module(f"ingest.{domain}.cli")
        cli.register(commands)
        cli.register_traffic(generators, importers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stack = commands.add_parser("stack", help="install, start, stop and inspect the local servers")
    stack.add_argument("action", choices=["install", "up", "down", "status", "logs"])
    stack.add_argument("services", nargs="*", help="postgres redis kafka cassandra mongo nats (default: all)")
    stack.add_argument("-n", "--lines", type=int, default=50, help="log lines to show (logs)")
    stack.set_defaults(handler=cmd_stack)

    bootstrap = commands.add_parser("bootstrap", help="apply storage migrations (schemas, keyspace, topics)")
    bootstrap.set_defaults(handler=cmd_bootstrap)

    run = commands.add_parser("run", help="the main job: the whole flow end to end on local defaults")
    run.add_argument("--orders", type=int, default=1000, help="e-commerce orders to generate")
    run.add_argument("--messages", type=int, default=600, help="chat messages to generate")
    run.add_argument("--posts", type=int, default=200, help="social posts to generate")
    run.add_argument("--devices", type=int, default=12, help="IoT devices to simulate")
    run.add_argument("--days", type=int, default=3, help="days of telemetry per simulated device")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument(
        "--retrain", action="store_true", help="train the sentiment and anomaly models even if champions exist"
    )
    run.set_defaults(handler=cmd_run)

    register_domains(commands)

    from serving.cli import register as register_serving

    register_serving(commands)

    from serving.score_cli import register as register_scoring

    register_scoring(commands)

    from entrypoints.train_fraud import register as register_training

    register_training(commands)

    from serving.anomaly.cli import register as register_anomaly

    register_anomaly(commands)

    from pipelines.iot.stream_cli import register as register_streams

    register_streams(commands)

    from entrypoints.table_cli import register as register_tables

    register_tables(commands)

    from entrypoints.card_scan import register as register_card_scan

    register_card_scan(commands)

    from entrypoints.keys_cli import register as register_keys

    register_keys(commands)

    from entrypoints.materialize import register as register_materialize

    register_materialize(commands)

    from entrypoints.notebooks import register as register_notebooks

    register_notebooks(commands)

    ui = commands.add_parser("ui", help="open the Dagster UI, the MLflow UI or the notebooks (JupyterLab)")
    ui.add_argument("which", choices=["dagster", "mlflow", "notebooks"])
    ui.add_argument("--port", type=int)
    ui.set_defaults(handler=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:
        for problem in error.errors():
            field = "LAKEHOUSE_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"invalid setting {field}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        return args.handler(settings, args)
    except RuntimeError as error:  # ServiceError, BootstrapError, MainJobError: each names the part and the reason
        print(f"error: {error}", file=sys.stderr)
        return 1
    except UnsafeSetting as error:  # e.g. the development card-token key on an address off loopback
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
