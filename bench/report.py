"""Benchmark output: each figure printed beside its baseline from the same run, and saved as JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Measurement:
    name: str
    items: int
    seconds: float
    unit: str = "rows"
    is_baseline: bool = False
    notes: str = ""
    # Name of the measurement this one is compared with; None: the report's first baseline; "": none.
    compare_to: str | None = None
    # Per-call latency, for benchmarks of requests rather than rows (printed when any measurement has it).
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Report:
    benchmark: str
    parameters: dict[str, object]
    measurements: list[Measurement] = field(default_factory=list)

    def add(self, measurement: Measurement) -> Measurement:
        self.measurements.append(measurement)
        print(
            f"  measured {measurement.name}: {measurement.items:,} {measurement.unit} in {measurement.seconds:.2f}s",
            flush=True,
        )
        return measurement

    def baseline_of(self, measurement: Measurement) -> Measurement | None:
        if measurement.compare_to is None:
            return next((m for m in self.measurements if m.is_baseline), None)
        return next((m for m in self.measurements if m.name == measurement.compare_to), None)

    def _ratio(self, measurement: Measurement) -> str:
        if measurement.is_baseline:
            return "baseline"
        baseline = self.baseline_of(measurement)
        return f"{measurement.rate / baseline.rate:.2f}x" if baseline else "-"

    def print_table(self) -> None:
        latencies = any(m.p50_ms is not None for m in self.measurements)
        width = max([48, *(len(m.name) for m in self.measurements)])
        print(f"\n{self.benchmark}  ({', '.join(f'{k}={v}' for k, v in self.parameters.items())})")
        latency_header = f" {'p50 ms':>8} {'p99 ms':>8}" if latencies else ""
        print(f"{'what':<{width}} {'items':>10} {'seconds':>9} {'per second':>12}{latency_header} {'vs baseline':>12}")
        for m in self.measurements:
            latency = f" {_ms(m.p50_ms):>8} {_ms(m.p99_ms):>8}" if latencies else ""
            print(f"{m.name:<{width}} {m.items:>10,} {m.seconds:>9.2f} {m.rate:>12,.0f}{latency} {self._ratio(m):>12}")
        for m in self.measurements:
            if m.notes:
                print(f"  {m.name}: {m.notes}")

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{self.benchmark}.json"
        payload = {
            "benchmark": self.benchmark,
            "measured_at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
            "parameters": self.parameters,
            "measurements": [{**asdict(m), "per_second": m.rate} for m in self.measurements],
        }
        path.write_text(json.dumps(payload, indent=2))
        print(f"\nsaved {path}")
        return path


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: the machine is shared, so a figure means little without them."""
    return [round(value, 2) for value in os.getloadavg()]


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent busy since boot, summed over all cores (/proc/stat:
    everything but idle and I/O wait). The difference over a span, beside ``cores * wall``, says how full the
    machine was: a rate whose every unit needs more CPU than the cores have to give cannot go higher."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Stopwatch:
    """Wall time, and this process's CPU time (all its threads) over the same span."""

    def __enter__(self) -> Stopwatch:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started

    @property
    def cpu_note(self) -> str:
        """'this process's CPU: 0.90 s of 0.91 s': near the wall time, one interpreter (its GIL) is the bound."""
        return f"this process's CPU: {self.cpu_seconds:.2f} s of {self.seconds:.2f} s"
