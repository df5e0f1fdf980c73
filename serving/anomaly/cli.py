"""`lakehouse anomaly train|live`: train the anomaly model into the MLflow registry, or run the live scorer.

Wired into the ``lakehouse`` command line with ``register(commands)``; handlers follow its convention
``handler(settings, args) -> exit code``. MLflow and Kafka are imported inside the commands (slow to import).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.settings import Settings

if TYPE_CHECKING:
    from serving.anomaly.live import ScorerTotals


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``anomaly train`` and ``anomaly live`` to the ``lakehouse`` command line."""
    anomaly = subparsers.add_parser("anomaly", help="the IoT anomaly model: train it, or score telemetry live")
    actions = anomaly.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="fit the alert settings on a simulated fleet; register in MLflow")
    train.add_argument("--devices", type=int, default=8, help="simulated devices per cadence and fleet (default 8)")
    train.add_argument("--readings-per-device", type=int, default=2500, help="readings per device (default 2500)")
    train.add_argument("--cadences", default="60,300", help="sampling cadences in seconds (default 60,300)")
    train.add_argument("--seed", type=int, default=1, help="training fleet seed (the held-out one is seed + 1)")
    train.set_defaults(handler=cmd_train)
    live = actions.add_parser("live", help="consume iot.telemetry, score each reading, record the alerts")
    live.add_argument(
        "--until-idle",
        action="store_true",
        help="a batch run: read the whole topic as the group (without joining it), stop once caught up and idle",
    )
    live.add_argument("--group", default="iot-anomaly-scorer", help="Kafka consumer group")
    live.add_argument("--topic", default=None, help="telemetry topic (default iot.telemetry)")
    live.add_argument("--scores-topic", default=None, help="scores topic (default iot.anomaly_scores)")
    live.set_defaults(handler=cmd_live)


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from models.anomaly.registry import train_and_register
    from models.anomaly.training import TrainingConfig

    cadences = tuple(int(part) for part in args.cadences.split(",") if part.strip())
    config = TrainingConfig(
        cadences=cadences,
        devices=args.devices,
        readings_per_device=args.readings_per_device,
        train_seed=args.seed,
        holdout_seed=args.seed + 1,
    )
    outcome = train_and_register(settings, config)
    result = outcome.registry
    print(f"trained {result.model_name} version {result.version} (run {result.run_id})")
    print(f"  held-out NAB standard score: {result.metric:.1f}; fitted: {outcome.trained.params}")
    print(f"  champion: version {result.champion_version} ({result.reason})")
    return 0


def cmd_live(settings: Settings, args: argparse.Namespace) -> int:
    from serving.anomaly.live import LiveTopics, run_live_scorer
    from stack.bootstrap.kafka_topics import dlq_name

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its connection chatter drowns the scorer's lines
    defaults = LiveTopics()
    source = args.topic or defaults.source
    topics = LiveTopics(
        source=source, scores=args.scores_topic or defaults.scores, dead_letters=dlq_name(source), group=args.group
    )
    try:
        totals = run_live_scorer(settings, topics, until_idle=args.until_idle, on_poll=_progress())
    except KeyboardInterrupt:
        return 0
    print(
        f"scored {totals.scored:,} readings of {totals.messages:,} batches ({totals.skipped:,} skipped as already "
        f"scored), {totals.alerts:,} alerts ({totals.new_alerts:,} new), {totals.dead:,} dead-lettered"
    )
    return 0


def _progress() -> Callable[[ScorerTotals], None]:
    """A progress line at most every 10 s: what was scored since the previous line."""
    from serving.anomaly.live import ScorerTotals

    window, since = ScorerTotals(), time.monotonic()

    def on_poll(done: ScorerTotals) -> None:
        nonlocal window, since
        window.add(done)
        if time.monotonic() - since >= 10 and window.messages:
            logging.getLogger("serving.anomaly.live").info(
                "scored %d readings (%d skipped), %d alerts, %d dead-lettered in the last %.0fs",
                *(window.scored, window.skipped, window.alerts, window.dead, time.monotonic() - since),
            )
            window, since = ScorerTotals(), time.monotonic()

    return on_poll
