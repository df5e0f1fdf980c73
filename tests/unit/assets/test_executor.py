"""The project's executor: steps of different lanes overlap, steps of one lane (the untagged ones too) never do, a
failure stops what needs it and nothing else, and the run records every step as Dagster's own executors do. A real
Dagster instance on disk (no Spark: the assets only note who was running beside them)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    JobDefinition,
    asset,
    define_asset_job,
    execute_job,
    reconstructable,
)

from assets.core.executor import lane, threaded_executor

BARRIER_S = 10.0
_lock = threading.Lock()
_running: set[str] = set()
_beside: dict[str, set[str]] = {}  # step → the steps running when it started or while it ran
_meet = threading.Barrier(2)


def _note(name: str, hold_s: float = 0.3) -> None:
    with _lock:
        _beside[name] = set(_running)
        for other in _running:
            _beside[other].add(name)
        _running.add(name)
    time.sleep(hold_s)
    with _lock:
        _running.discard(name)


@asset(op_tags=lane("left"))
def left() -> None:
    _meet.wait(BARRIER_S)  # raises BrokenBarrierError unless `right` is running at the same time
    _note("left")


@asset(op_tags=lane("right"))
def right() -> None:
    _meet.wait(BARRIER_S)
    _note("right")


@asset(deps=[left, right])
def alone() -> None:
    _note("alone", hold_s=0.5)


@asset(op_tags=lane("broken"))
def broken() -> None:
    _note("broken")
    raise ValueError("broken on purpose")


@asset(op_tags=lane("after broken"), deps=[broken])
def needs_broken() -> None:
    _note("needs_broken")


@asset(op_tags=lane("shared"), deps=[alone])
def after_alone() -> None:
    _note("after_alone", hold_s=0.5)


@asset(op_tags=lane("shared"), deps=[alone])
def also_shared() -> None:
    _note("also_shared", hold_s=0.5)


@asset(deps=[left])
def also_alone() -> None:
    _note("also_alone", hold_s=0.5)


def job() -> JobDefinition:
    everything = [left, right, alone, broken, needs_broken, after_alone, also_shared, also_alone]
    run = define_asset_job("threads", executor_def=threaded_executor)
    return Definitions(assets=everything, jobs=[run]).resolve_job_def("threads")


def test_tagged_steps_overlap_others_run_alone_and_a_failure_skips_only_what_needs_it(tmp_path: Path) -> None:
    _meet.reset()
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = execute_job(reconstructable(job), instance=instance)
        events = instance.all_logs(result.run_id)

    assert not result.success  # `broken` failed
    by_type = {
        kind: {e.step_key for e in events if e.dagster_event and e.dagster_event.event_type == kind}
        for kind in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    }
    succeeded = {"left", "right", "alone", "after_alone", "also_shared", "also_alone"}
    assert by_type[DagsterEventType.STEP_SUCCESS] == succeeded
    assert by_type[DagsterEventType.STEP_FAILURE] == {"broken"}
    # As in Dagster's in-process executor, a step whose upstream failed is never started (and gets no event).
    assert "needs_broken" not in by_type[DagsterEventType.STEP_START] and "needs_broken" not in _beside
    assert "right" in _beside["left"] and "left" in _beside["right"]  # they met at the barrier
    # One lane, one step at a time: the two untagged steps, and the two of lane "shared" (both ready at once).
    assert "also_alone" not in _beside["alone"] and "alone" not in _beside["also_alone"]
    assert "also_shared" not in _beside["after_alone"] and "after_alone" not in _beside["also_shared"]
    materialized = {
        e.dagster_event.asset_key for e in events if e.dagster_event and e.dagster_event.is_step_materialization
    }
    assert materialized == {AssetKey(name) for name in succeeded}


def test_one_at_a_time_when_configured(tmp_path: Path) -> None:
    """``max_concurrent: 1`` is Dagster's in-process order: the barrier pair cannot meet, so both fail."""
    _meet.reset()
    config = {"execution": {"config": {"max_concurrent": 1}}}
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = execute_job(reconstructable(job), instance=instance, run_config=config)
        failed = {
            e.step_key
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type == DagsterEventType.STEP_FAILURE
        }
    assert {"left", "right"} <= failed
