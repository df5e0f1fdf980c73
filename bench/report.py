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

    def print_table(self) -> None:
        baseline = next((m for m in self.measurements if m.is_baseline), None)
        print(f"\n{self.benchmark}  ({', '.join(f'{k}={v}' for k, v in self.parameters.items())})")
        print(f"{'what':<48} {'items':>10} {'seconds':>9} {'per second':>12} {'vs baseline':>12}")
        for m in self.measurements:
            ratio = "baseline" if m is baseline else (f"{m.rate / baseline.rate:.2f}x" if baseline else "-")
            print(f"{m.name:<48} {m.items:>10,} {m.seconds:>9.2f} {m.rate:>12,.0f} {ratio:>12}")

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


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
