"""The project's Dagster executor: one process, one Spark session, and up to ``max_concurrent`` steps at a time on
threads.

A run of this project is mostly small Spark jobs (a bronze topic, a silver flow's MERGEs, a gold rebuild), each
spending much of its time in the driver and waiting on it: planning, the Delta log, task scheduling. One at a time
they leave a core idle. Dagster's multiprocess executor would run them side by side, but every step would start its
own JVM and Spark session (seconds each, and a heap each); its in-process executor shares one session but runs one
step at a time. This one shares the session and overlaps the steps.

Every step has a lane, the op tag ``lakehouse/lane``; steps in one lane run one at a time, steps in different lanes
may overlap. The kit gives each bronze topic and each gold table a lane of its own (each writes only its table) and
a domain's silver flows one lane (they share the domain's quarantine table, and some write a table another flow
reads). A step without the tag is in the ``serial`` lane: Great Expectations checks, model training (matplotlib,
MLflow's active run), maintenance — process-wide state that two of them must not share, but that no Spark step
touches.

Dagster's bookkeeping stays on the main thread: it claims the ready steps, hands each to a worker thread when its
lane is free, and relays the events the workers put on a queue (Dagster writes each to the event log when the step
emits it, from the worker). A termination request stops the run at once, as a kill would: the work it cut short is
what the flows' checkpoints and MERGEs replay exactly once on the next run.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from dagster import Field, executor
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import (
    PlanExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
)
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.step import ExecutionStep
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.executor.base import Executor
from dagster._core.executor.init import InitExecutorContext

LANE_TAG = "lakehouse/lane"
SERIAL = "serial"  # the lane of a step without the tag
POLL_S = 0.2  # how often the main thread looks for a termination request while steps run


def lane(name: str) -> dict[str, str]:
    """``op_tags`` for an asset in lane ``name``: it may run beside steps of any other lane."""
    return {LANE_TAG: name}


def lane_of(step: ExecutionStep) -> str:
    return step.tags.get(LANE_TAG, SERIAL)


@dataclass(frozen=True)
class _Done:
    """A worker's last word on its step: ``error`` when something outside Dagster's own handling broke."""

    error: BaseException | None = None


def _run_step(step_context: StepExecutionContext, key: str, events: queue.Queue) -> None:
    try:
        for event in dagster_event_sequence_for_step(step_context):
            events.put((key, event))
        events.put((key, _Done()))
    except BaseException as error:  # noqa: BLE001 - handed to the main thread, which raises it
        events.put((key, _Done(error)))


def threaded_plan_iterator(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan, max_concurrent: int
) -> Iterator[DagsterEvent]:
    """What Dagster's ``inner_plan_execution_iterator`` does, with up to ``max_concurrent`` steps in flight."""
    compute_log_manager = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    with (
        InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency,
        execution_plan.start(
            retry_mode=job_context.retry_mode,
            instance_concurrency_context=concurrency,
            step_dependency_config=job_context.step_dependency_config,
        ) as active,
    ):
        log_key = compute_log_manager.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        with compute_log_manager.capture_logs(log_key) as log_context:
            yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
            events: queue.Queue = queue.Queue()
            running: dict[str, str] = {}  # step key → its lane
            claimed: list[ExecutionStep] = []  # ready, in Dagster's order, waiting for a free lane or thread

            def start(step: ExecutionStep) -> None:
                step_context = job_context.for_step(step, active.get_known_state())
                running[step.key] = lane_of(step)
                worker = threading.Thread(
                    target=_run_step, args=(step_context, step.key, events), name=f"step-{step.key}", daemon=True
                )
                worker.start()

            while not active.is_complete or running or claimed:
                if active.check_for_interrupts():
                    active.mark_interrupted()
                    yield DagsterEvent.engine_event(
                        job_context,
                        f"Interrupted with {sorted(running)} in flight: stopping the run",
                        EngineEventData.interrupted(list(running)),
                    )
                    raise DagsterExecutionInterruptedError()
                claimed.extend(active.get_steps_to_execute())
                yield from active.concurrency_event_iterator(job_context)
                for step in list(claimed):
                    if len(running) >= max_concurrent:
                        break
                    if lane_of(step) not in running.values():
                        claimed.remove(step)
                        start(step)
                if not running:  # nothing ready yet (a retry waiting, say): claimed is empty too
                    if not active.is_complete:
                        active.sleep_til_ready()
                    continue
                try:
                    key, item = events.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if isinstance(item, _Done):
                    del running[key]
                    if item.error is not None:
                        raise item.error
                    active.verify_complete(job_context, key)
                    yield from active.plan_events_iterator(job_context)
                else:
                    yield item
                    active.handle_event(item)


class ThreadedExecutor(Executor):
    def __init__(self, retries: RetryMode, max_concurrent: int):
        self._retries = retries
        self.max_concurrent = max_concurrent

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        keys = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()}), up to {self.max_concurrent} at a time",
            event_specific_data=EngineEventData.in_process(os.getpid(), keys),
        )
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=lambda job_context, execution_plan: threaded_plan_iterator(
                    job_context, execution_plan, self.max_concurrent
                ),
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                ),
            )
        )


@executor(
    name="lakehouse_threads",
    config_schema={
        "max_concurrent": Field(int, default_value=2, description="steps in flight at once (1: one at a time)"),
        "retries": get_retries_config(),
    },
)
def threaded_executor(init_context: InitExecutorContext) -> ThreadedExecutor:
    """One process and one Spark session for the whole run; the kit's Spark steps overlap on threads."""
    config = init_context.executor_config
    return ThreadedExecutor(RetryMode.from_config(config["retries"]), max(1, int(config["max_concurrent"])))
