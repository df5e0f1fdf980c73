"""`lakehouse stream telemetry [--trigger-seconds 2]`: the long-running telemetry stream, stopped by Ctrl-C or
SIGTERM between micro-batches; ``--available-now`` processes what is waiting and exits (what the asset runs)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from pipelines.core.incremental import FlowReport
from pipelines.core.tables import domain_lake
from pipelines.iot.stream import run_telemetry_stream, stream_topics


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``stream telemetry ...`` to the ``lakehouse`` command line."""
    stream = subparsers.add_parser("stream", help="long-running streams into the lake")
    streams = stream.add_subparsers(dest="stream", required=True)
    telemetry = streams.add_parser("telemetry", help="IoT telemetry and scores: Kafka → bronze → silver readings")
    telemetry.add_argument("--trigger-seconds", type=float, default=2.0, help="seconds between micro-batches")
    telemetry.add_argument("--available-now", action="store_true", help="process what is waiting, then exit")
    telemetry.add_argument("--telemetry-topic", help="read telemetry from this topic (default: the contract's)")
    telemetry.add_argument("--scores-topic", help="read scores from this topic (default: the contract's)")
    telemetry.add_argument("--no-scores", action="store_true", help="stream telemetry only")
    telemetry.set_defaults(handler=cmd_stream_telemetry)


def _topics(args: argparse.Namespace) -> dict[str, str]:
    topics = stream_topics()
    topics["telemetry"] = args.telemetry_topic or topics["telemetry"]
    topics["scores"] = args.scores_topic or topics["scores"]
    if args.no_scores:
        del topics["scores"]
    return topics


def _print_batch(entity: str, batch_id: int, done: FlowReport) -> None:
    offered, merged = sum(done.offered.values()), sum(done.merged.values())
    late = sum(count for (_table, flag), count in done.flagged.items() if flag == "late")
    print(
        f"{entity} batch {batch_id}: {offered} rows in, {merged} merged, {offered - merged} duplicates dropped, "
        f"{late} late, {done.quarantined} quarantined",
        flush=True,
    )


def cmd_stream_telemetry(settings: Settings, args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        print(f"signal {signum}: stopping after the current micro-batch", flush=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    spark = spark_session(settings, app_name="lakehouse-telemetry-stream")
    report = run_telemetry_stream(
        spark,
        domain_lake(settings, "iot"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=_topics(args),
        trigger_seconds=None if args.available_now else args.trigger_seconds,
        stop=stop,
        on_batch=_print_batch,
    )
    for entity, done in report.flows.items():
        print(f"{entity}: {dict(done.merged)} merged, {done.quarantined} quarantined", flush=True)
    spark.stop()
    return 0
