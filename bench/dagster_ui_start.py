"""How long `lakehouse ui dagster` takes to answer with every asset, beside `dagster dev` on an empty code location.

Both are started the same way, in turn, ``--repeats`` times: the clock runs from the command until the webserver's
GraphQL endpoint lists the code location's assets (the empty one: until it answers). The baseline is what Dagster's
own webserver, daemon and code server cost on this machine; the difference is what loading every domain costs.

    .venv/bin/python -m bench.dagster_ui_start --repeats 2
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.ingest_throughput import free_port
from bench.report import Measurement, Report, load_average
from lakehouse.settings import PROJECT_ROOT

TIMEOUT_S = 300
ASSETS = "{ assetNodes { id } }"


def answered(port: int, want_assets: bool) -> int | None:
    """The assets the webserver lists once it answers (None: not yet, or none yet while some are wanted)."""
    try:
        reply = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": ASSETS}, timeout=5)
        count = len(reply.json()["data"]["assetNodes"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return None
    return count if count or not want_assets else None


def start_and_time(
    command: list[str], cwd: Path, env: dict[str, str], port: int, want_assets: bool
) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode} before answering")
            count = answered(port, want_assets)
            if count is not None:
                return time.perf_counter() - started, count
            time.sleep(0.2)
        raise RuntimeError(f"{command} did not answer within {TIMEOUT_S} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # dagster dev's children may ignore SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="starts of each, alternating")
    args = parser.parse_args()
    load_before = load_average()
    project_times: list[tuple[float, int]] = []
    empty_times: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as scratch:
        empty = Path(scratch)
        (empty / "empty_defs.py").write_text("from dagster import Definitions\n\ndefs = Definitions()\n")
        (empty / "home").mkdir()
        dagster = str(PROJECT_ROOT / ".venv" / "bin" / "dagster")
        lakehouse = str(PROJECT_ROOT / ".venv" / "bin" / "lakehouse")
        for _ in range(args.repeats):
            port = free_port()
            empty_times.append(
                start_and_time(
                    [dagster, "dev", "-f", "empty_defs.py", "-p", str(port)],
                    empty,
                    {**os.environ, "DAGSTER_HOME": str(empty / "home")},
                    port,
                    want_assets=False,
                )
            )
            port = free_port()
            project_times.append(
                start_and_time(
                    [lakehouse, "ui", "dagster", "--port", str(port)], PROJECT_ROOT, dict(os.environ), port, True
                )
            )
    load_after = load_average()
    report = Report(
        "dagster_ui_start",
        {"repeats": args.repeats, "load_average_before": load_before, "load_average_after": load_after},
    )
    for i, (seconds, _) in enumerate(empty_times, start=1):
        report.add(
            Measurement(f"dagster dev, empty Definitions, start {i}", 1, seconds, unit="start", is_baseline=True)
        )
    for i, (seconds, assets) in enumerate(project_times, start=1):
        report.add(
            Measurement(
                f"lakehouse ui dagster, start {i}",
                1,
                seconds,
                unit="start",
                compare_to=f"dagster dev, empty Definitions, start {i}",
                notes=f"{assets} assets listed when it first answered",
            )
        )
    report.print_table()
    print(f"\nload average before {load_before}, after {load_after}; 'vs baseline' < 1: slower than the empty one")
    report.save()


if __name__ == "__main__":
    main()
