"""Progress lines for long runs: every so many items or every few seconds, whichever comes first."""

from __future__ import annotations

import time
from collections.abc import Callable

Progress = Callable[[str], None]


class ProgressMeter:
    def __init__(self, report: Progress | None, *, every: int = 10_000, every_seconds: float = 5.0) -> None:
        self._report = report
        self._every = every
        self._every_seconds = every_seconds
        self._started = time.monotonic()
        self._last_count = 0
        self._last_time = self._started

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def per_second(self, count: int) -> float:
        elapsed = self.elapsed()
        return count / elapsed if elapsed > 0 else 0.0

    def update(self, count: int, describe: Callable[[], str]) -> None:
        """Report ``describe()`` if enough items or time went by since the last line."""
        if self._report is None:
            return
        now = time.monotonic()
        if count - self._last_count >= self._every or now - self._last_time >= self._every_seconds:
            self._last_count, self._last_time = count, now
            self._report(describe())

    def finish(self, describe: Callable[[], str]) -> None:
        if self._report is not None:
            self._report(describe())
