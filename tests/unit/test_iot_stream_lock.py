"""One writer per telemetry checkpoint: a second holder is refused at once, an available-now run steps aside for a
long-running stream (which keeps silver fresh), and the CLI chooses its topics."""

from __future__ import annotations

import argparse

import pytest
from local_lake import local_lake

from pipelines.core.tables import DomainLake
from pipelines.iot.stream import run_telemetry_stream
from pipelines.iot.stream_cli import _topics
from pipelines.iot.stream_lock import StreamBusy, checkpoint_lock


@pytest.fixture
def lake(tmp_path) -> DomainLake:
    return local_lake("iot", tmp_path)


def test_a_second_holder_is_refused_until_the_first_lets_go(tmp_path) -> None:
    checkpoint = str(tmp_path / "cp" / "telemetry")
    with checkpoint_lock(checkpoint), pytest.raises(StreamBusy, match="in use"), checkpoint_lock(checkpoint):
        pass
    with checkpoint_lock(checkpoint):  # released on exit
        pass


def test_an_object_store_checkpoint_is_not_locked() -> None:
    with checkpoint_lock("s3a://lake/_checkpoints/silver/iot_telemetry"), checkpoint_lock("s3a://lake/x"):
        pass


def test_an_available_now_run_steps_aside_while_a_stream_holds_the_checkpoints(lake) -> None:
    with checkpoint_lock(lake.silver_checkpoint("telemetry_stream")):
        # No Spark work happens before the lock is taken, so no session is needed to see it step aside.
        report = run_telemetry_stream(None, lake, bootstrap_servers="127.0.0.1:1")  # type: ignore[arg-type]
        assert report.skipped and report.flows == {}
        with pytest.raises(StreamBusy):
            run_telemetry_stream(None, lake, bootstrap_servers="127.0.0.1:1", trigger_seconds=2)  # type: ignore[arg-type]


def test_the_cli_reads_its_own_topics_or_the_contracts() -> None:
    args = argparse.Namespace(telemetry_topic="t1", scores_topic=None, no_scores=False)
    assert _topics(args) == {"telemetry": "t1", "scores": "iot.anomaly_scores"}
    assert _topics(argparse.Namespace(telemetry_topic=None, scores_topic=None, no_scores=True)) == {
        "telemetry": "iot.telemetry"
    }
