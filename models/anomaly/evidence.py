"""How unusual one reading looks against its own device's past, under several views, each as a conformal p-value.

Each view follows a published detector: the level's rank in the recent readings (windowed statistics), the distance of
the recent pattern to its nearest past patterns (k-NN conformal, as KNN-CAD), the residual from the same time on the
previous days (seasonality-aware baseline) and the run of repeated readings (which catches a stuck sensor: a run
longer than the device's past runs). Ranking a nonconformity against the device's own past nonconformities makes
every view scale-free, so one threshold holds across devices and metrics, and a p-value is never below 1/(n+1) for n
past readings, so a device with little history cannot raise extreme scores.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MIN_TAIL = 100  # past nonconformities needed before a record is extrapolated beyond its rank


def upper_p_value(past: np.ndarray, current: float, tail: bool = True) -> float:
    """Share of past nonconformities at least as large as the current one (the current one counted in).

    Beyond the largest past one, the rank alone would say "a record" whether the record is by 1% or by 100x; there
    the tail is extended as a Pareto tail of index 1 (p shrinks in proportion to how far the record goes), so a
    reading far outside everything seen is strong evidence even on a short history.
    """
    p = (np.count_nonzero(past >= current) + 1.0) / (len(past) + 1.0)
    # Only on a calibration set large enough for its largest value to mean something: a new device's few readings
    # say nothing about how far its tail reaches.
    largest = float(past.max()) if tail and len(past) >= MIN_TAIL else 0.0
    if current > largest > 0.0:
        p *= largest / current
    return p


def level_nonconformity(values: np.ndarray, current: float) -> tuple[np.ndarray, float]:
    """Distance of each past reading and of the current one from the past readings' median."""
    centre = float(np.median(values))
    return np.abs(values - centre), abs(current - centre)


def shape_nonconformity(values: np.ndarray, current: float, lags: int, neighbours: int) -> float:
    """Mean distance from the last ``lags`` readings (the current one included) to their nearest past patterns.

    Past patterns that overlap the current one are left out, so a smooth series cannot match itself. NaN until
    there are enough past patterns.
    """
    past = values[: len(values) - (lags - 1)]
    if len(past) < lags + neighbours:
        return float("nan")
    query = np.append(values[len(values) - (lags - 1) :], current)
    distances = np.sqrt(((sliding_window_view(past, lags) - query) ** 2).sum(axis=1))
    return float(np.partition(distances, neighbours - 1)[:neighbours].mean())


def seasonal_residual(
    times: np.ndarray,
    values: np.ndarray,
    now: float,
    value: float,
    season_seconds: float,
    seasons: int,
    tolerance: float,
) -> float:
    """How far the reading falls outside what the device did around the same phase on each of the last ``seasons``.

    For each past season, the readings within ``tolerance`` seconds of this phase give a range; the residual is the
    reading's distance outside it (0 inside), and the view is the median over the seasons found. Scheduled work
    (backups, batch jobs, cron) drifts by minutes from day to day, so a range around the phase, not the one reading
    at it, keeps a daily job that starts a little early or late, or not yet, from looking anomalous; the median asks
    that most recent seasons agree. Found by time, not by position, so gaps do not shift the phase. NaN when no past
    season has a reading near this phase (too little history, or a gap there).
    """
    targets = now - season_seconds * np.arange(1, seasons + 1)
    starts = np.searchsorted(times, targets - tolerance, side="left")
    ends = np.searchsorted(times, targets + tolerance, side="right")
    residuals = [
        max(0.0, float(values[a:b].min()) - value, value - float(values[a:b].max()))
        for a, b in zip(starts, ends, strict=True)
        if b > a
    ]
    return float(np.median(residuals)) if residuals else float("nan")


def repeat_run(values: np.ndarray, current: float) -> float:
    """How many readings in a row, the current one included, have exactly the current reading's value."""
    differs = values[::-1] != current
    return float(np.argmax(differs) + 1 if differs.any() else len(values) + 1)
