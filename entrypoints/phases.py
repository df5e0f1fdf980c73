"""Seconds per phase of a long command, printed as each phase ends and as a summary at the end.

The main job's steps take from a second to minutes; a reader (or CI) comparing two runs needs each step's time
from the run's own output, not from a profiler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str], None]


@dataclass
class PhaseClock:
    """``start`` a phase (ending the one before it); ``finish`` the last one; ``summary`` lines for all of them."""

    progress: Progress
    indent: str = "      "
    seconds: dict[str, float] = field(default_factory=dict)
    _current: str | None = None
    _started: float = 0.0

    def start(self, phase: str) -> None:
        self.finish()
        self.progress(phase)
        self._current, self._started = phase, time.monotonic()

    def finish(self) -> None:
        if self._current is None:
            return
        elapsed = time.monotonic() - self._started
        self.seconds[self._current] = elapsed
        self.progress(f"{self.indent}done in {elapsed:.1f}s")
        self._current = None

    def summary(self) -> list[str]:
        total = sum(self.seconds.values())
        lines = [f"{seconds:8.1f}s  {phase}" for phase, seconds in self.seconds.items()]
        return [*lines, f"{total:8.1f}s  total"]
