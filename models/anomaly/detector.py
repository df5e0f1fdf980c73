"""The causal anomaly detector: one reading in, its anomaly score and alert out, the device's state carried along.

``score`` is the live step (the gateway and the stream processor call it per reading, with the state they keep per
device); ``score_series`` runs that same step over a whole series, so a batch rescoring and the live path give the
same scores by construction. A reading's score uses only that device's earlier readings (its state), never later
ones. The evidence views are in ``evidence``; the state and its bytes in ``state``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from models.anomaly import evidence
from models.anomaly.state import DeviceState, appended

VIEWS = 4  # level, shape, season, repeated readings: the Bonferroni factor for taking the smallest p-value
# The score is -log p on a fixed scale (whatever a device's calibration size), so one threshold means one evidence
# level everywhere: 1 is a p-value of 1/2001, a record over 2,000 readings.
FULL_SCALE_P = 1 / 2001


@dataclass(frozen=True)
class DetectorParams:
    """One device's detector settings; ``fit_params`` derives the time-dependent ones from its readings' cadence."""

    sampling_seconds: float = 300.0
    history: int = 3000  # readings kept as the baseline: over a week at 5 min, so weekly recurrences are in it
    calibration: int = 3000  # past nonconformities each reading is ranked against
    lags: int = 6  # readings in the recent pattern (shape view)
    neighbours: int = 3
    season_seconds: float = 86400.0  # 0 turns the seasonal view off
    seasons: int = 3
    slow_readings: int = 12  # the slow signal: mean score over this many readings
    min_history: int = 300  # no alert before this many readings (a new device must not storm)
    threshold: float = 0.8  # chosen on a simulated training fleet by NAB score (bench/anomaly_quality.py)
    cooldown: int = 288  # readings after an alert during which the same incident does not alert again
    escalation: float = 0.1  # within the cooldown, how much more anomalous than the last alert a reading must be

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float | int]) -> DetectorParams:
        return cls(**data)


def fit_params(timestamps: Sequence[object], **overrides: float | int) -> DetectorParams:
    """Settings for a device from its first readings: the cadence sets the seasonal tolerance and the cooldown."""
    times = epoch_seconds(timestamps)
    sampling = float(np.median(np.diff(times))) if len(times) > 1 else DetectorParams.sampling_seconds
    return params_for_cadence(sampling, **overrides)


def params_for_cadence(sampling_seconds: float, **overrides: float | int) -> DetectorParams:
    """Settings for a device reading every ``sampling_seconds`` (what ``fit_params`` derives from timestamps)."""
    sampling = float(sampling_seconds)
    season = DetectorParams.season_seconds if DetectorParams.season_seconds >= 8 * sampling else 0.0
    # One alert a day at most per incident, but never wait longer than 48 readings (hourly and slower series).
    cooldown = max(12, min(48 if sampling >= 3600 else 288, int(86400 / sampling)))
    return replace(DetectorParams(sampling_seconds=sampling, season_seconds=season, cooldown=cooldown), **overrides)


def epoch_seconds(timestamps: Sequence[object]) -> np.ndarray:
    """Timestamps as float seconds since the epoch (naive ones read as UTC), the form the state keeps."""
    index = pd.to_datetime(pd.Series(timestamps))
    if index.dt.tz is not None:
        index = index.dt.tz_convert("UTC").dt.tz_localize(None)
    return (index - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def reading_epoch_seconds(timestamp: datetime) -> float:
    """One timestamp as ``epoch_seconds`` gives it (integer nanoseconds / 1e9, bit for bit), without pandas: the
    live path converts each reading this way, fast, and still scores exactly as a file scored in one go."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return ((timestamp - _EPOCH) // _MICROSECOND * 1000) / 1e9


def _one_epoch_second(timestamp: object) -> float:
    if isinstance(timestamp, int | float):
        return float(timestamp)
    if isinstance(timestamp, datetime) and timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return float(epoch_seconds([timestamp])[0])


def _p_values(
    params: DetectorParams, state: DeviceState, now: float, value: float
) -> tuple[dict[str, float], dict[str, float]]:
    """The p-value of each view that has enough history, and the new nonconformities to remember."""
    p_values, new = {}, {}
    if len(state.values):
        past_levels, level = evidence.level_nonconformity(state.values, value)
        p_values["level"] = evidence.upper_p_value(past_levels, level)
    shape = evidence.shape_nonconformity(state.values, value, params.lags, params.neighbours)
    season = float("nan")
    if params.season_seconds > 0:
        # Half an hour a day either side of the phase (scheduled work jitters), never less than half a reading.
        tolerance = max(params.sampling_seconds / 2, params.season_seconds / 48)
        season = evidence.seasonal_residual(
            state.times, state.values, now, value, params.season_seconds, params.seasons, tolerance
        )
    for name, current in (("shape_scores", shape), ("season_scores", season)):
        if math.isnan(current):
            continue
        new[name] = current
        if len(getattr(state, name)):
            p_values[name] = evidence.upper_p_value(getattr(state, name), current)
    # A stuck sensor repeats its reading: the run of identical readings is ranked against the device's past runs
    # that have ended (a run still going would otherwise be its own calibration and hide itself as it grows).
    if len(state.values):
        if len(state.run_lengths):
            run = evidence.repeat_run(state.values, value)
            p_values["run_lengths"] = evidence.upper_p_value(state.run_lengths, run)
        if value != state.values[-1]:
            new["run_lengths"] = evidence.repeat_run(state.values[:-1], float(state.values[-1]))
    return p_values, new


def score(
    params: DetectorParams, state: DeviceState, timestamp: object, value: float
) -> tuple[float, bool, DeviceState]:
    """Score one reading against the device's state; returns (anomaly_score in [0, 1], alert, the new state).

    Pure: ``state`` is left as it was, so a caller that fails to save the new state can score the reading again.
    """
    now, value = _one_epoch_second(timestamp), float(value)
    p_values, new = _p_values(params, state, now, value)
    instant_p = min(1.0, VIEWS * min(p_values.values(), default=1.0))
    # The slow signal, after HTM's anomaly likelihood: a run of moderately surprising readings (a sustained shift, a
    # slow degradation) is itself unusual even when no single reading is; ranked against its own past runs.
    recent = appended(state.recent, -math.log(instant_p), params.slow_readings)
    slow = float(recent.mean())
    # Ranked without the Pareto tail: slow scores are means of overlapping runs, so their past maximum rests on few
    # independent runs and is no anchor for how far a record reaches.
    slow_p = evidence.upper_p_value(state.slow_scores, slow, tail=False) if len(recent) == params.slow_readings else 1.0
    combined = min(1.0, 2 * min(instant_p, slow_p))
    anomaly_score = min(1.0, max(0.0, math.log(combined) / math.log(FULL_SCALE_P)))
    alert = _alerts(params, state.seen, state.last_alert, state.last_alert_score, anomaly_score)
    if len(recent) == params.slow_readings:
        new["slow_scores"] = slow
    arrays = {name: appended(getattr(state, name), item, params.calibration) for name, item in new.items()}
    new_state = replace(
        state,
        seen=state.seen + 1,
        last_alert=state.seen if alert else state.last_alert,
        last_alert_score=anomaly_score if alert else state.last_alert_score,
        times=appended(state.times, now, params.history),
        values=appended(state.values, value, params.history),
        recent=recent,
        **arrays,
    )
    return anomaly_score, bool(alert), new_state


def _alerts(params: DetectorParams, seen: int, last_alert: int, last_alert_score: float, anomaly_score: float) -> bool:
    """Whether a reading with this score alerts, given when the device last alerted and how loudly."""
    # One alert per incident: within the cooldown only a reading clearly more anomalous than the last alert alerts
    # again (an incident that escalates, or a second one, is not hidden behind a milder first alarm).
    quiet = last_alert < 0 or seen - last_alert > params.cooldown
    louder = anomaly_score >= last_alert_score + params.escalation
    return anomaly_score >= params.threshold and seen >= params.min_history and (quiet or louder)


def replay_alerts(params: DetectorParams, scores: Sequence[float]) -> np.ndarray:
    """The alerts ``score`` raises over a series scored from a fresh state, from its scores alone.

    Scores never depend on past alerts, so trying another threshold needs only this, not a rescoring.
    """
    alerts, last_alert, last_score = np.zeros(len(scores), dtype=bool), -1, 0.0
    for seen, anomaly_score in enumerate(scores):
        alerts[seen] = _alerts(params, seen, last_alert, last_score, float(anomaly_score))
        if alerts[seen]:
            last_alert, last_score = seen, float(anomaly_score)
    return alerts


def score_series(
    params: DetectorParams, timestamps: Sequence[object], values: Sequence[float], state: DeviceState | None = None
) -> pd.DataFrame:
    """``score`` over a series in order: timestamp, value, anomaly_score, alert (what the score command writes)."""
    frame, _ = score_series_with_state(params, timestamps, values, state)
    return frame


def score_series_with_state(
    params: DetectorParams, timestamps: Sequence[object], values: Sequence[float], state: DeviceState | None = None
) -> tuple[pd.DataFrame, DeviceState]:
    """As ``score_series``, also returning the state after the last reading (to continue live from there)."""
    state = state or DeviceState()
    times = epoch_seconds(timestamps)
    scores, alerts = np.empty(len(times)), np.zeros(len(times), dtype=bool)
    for i, (now, value) in enumerate(zip(times, values, strict=True)):
        scores[i], alerts[i], state = score(params, state, float(now), float(value))
    frame = pd.DataFrame(
        {"timestamp": list(timestamps), "value": np.asarray(values, dtype=float), "anomaly_score": scores}
    )
    frame["alert"] = alerts.astype(int)
    return frame, state
