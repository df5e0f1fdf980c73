"""The anomaly detector as the live path uses it: causal, restartable from saved state, calm on a new device."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from models.anomaly.detector import DetectorParams, fit_params, replay_alerts, score, score_series
from models.anomaly.evidence import seasonal_residual
from models.anomaly.state import DeviceState

PARAMS = DetectorParams(history=300, calibration=300, min_history=100, cooldown=50)


def noisy_series(n: int = 600, seed: int = 0) -> tuple[list[pd.Timestamp], np.ndarray]:
    rng = np.random.default_rng(seed)
    times = list(pd.date_range("2024-01-01", periods=n, freq="5min"))
    hours = np.arange(n) / 12
    return times, 50 + 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, n)


def test_appending_future_readings_never_changes_past_scores() -> None:
    times, values = noisy_series()
    values[450] += 40  # a spike after the cut: later readings may react to it, earlier ones must not
    short = score_series(PARAMS, times[:400], values[:400])
    full = score_series(PARAMS, times, values)
    pd.testing.assert_frame_equal(short, full.head(400))


def test_a_restored_state_continues_with_identical_scores() -> None:
    times, values = noisy_series()
    values[500] -= 30
    uninterrupted = score_series(PARAMS, times, values)
    state = DeviceState()
    for now, value in zip(times[:350], values[:350], strict=True):
        _, _, state = score(PARAMS, state, now, value)
    restored = DeviceState.from_bytes(state.to_bytes())
    assert restored == state
    continued = score_series(PARAMS, times[350:], values[350:], state=restored)
    pd.testing.assert_frame_equal(continued, uninterrupted.iloc[350:].reset_index(drop=True))


def test_score_leaves_the_given_state_as_it_was() -> None:
    times, values = noisy_series(200)
    state = DeviceState()
    for now, value in zip(times, values, strict=True):
        _, _, state = score(PARAMS, state, now, value)
    before = state.to_bytes()
    first = score(PARAMS, state, times[-1] + pd.Timedelta("5min"), 99.0)
    again = score(PARAMS, state, times[-1] + pd.Timedelta("5min"), 99.0)
    assert state.to_bytes() == before
    assert first[:2] == again[:2]


def test_a_new_device_does_not_storm() -> None:
    # Wild readings from the very first one: nothing may alert before min_history, and scores stay in [0, 1].
    times, _ = noisy_series(150)
    values = np.random.default_rng(3).standard_cauchy(150) * 100
    frame = score_series(PARAMS, times, values)
    assert frame["anomaly_score"].between(0, 1).all()
    assert frame["alert"].iloc[: PARAMS.min_history].sum() == 0
    assert frame["anomaly_score"].iloc[:10].max() < 0.5  # ten readings cannot be strong evidence


def test_a_clear_spike_alerts_once_and_quiet_noise_does_not() -> None:
    times, values = noisy_series(1200, seed=1)
    values[900] += 60
    frame = score_series(PARAMS, times, values)
    alerts = np.flatnonzero(frame["alert"].to_numpy())
    assert 900 in alerts
    assert len(alerts) <= 3  # the spike, and at most a couple of false alarms in 1,100 scored readings


def test_a_stuck_sensor_raises_the_score() -> None:
    times, values = noisy_series(1200, seed=2)
    values[1000:1100] = values[999]
    frame = score_series(replace_threshold(0.7), times, values)
    assert frame["anomaly_score"].iloc[1024:1100].max() > frame["anomaly_score"].iloc[400:1000].quantile(0.99)


def test_a_stuck_sensor_alerts_within_a_few_readings() -> None:
    # Continuous readings never repeat exactly, so a repeated reading is a run longer than any the device has had;
    # the evidence grows with the run, and within an hour of 5-minute readings it is enough (on 300 past runs).
    times, values = noisy_series(1200, seed=5)
    values[1000:1100] = values[999]
    alerts = np.flatnonzero(score_series(PARAMS, times, values)["alert"].to_numpy())
    assert 1000 <= alerts[alerts >= 1000][0] <= 1012


def test_flat_runs_as_long_as_past_ones_do_not_alert() -> None:
    # A coarsely quantised metric (a CPU percentage in steps) sits on one value for a while now and then: a run no
    # longer than its earlier runs is its normal behaviour, not a stuck sensor.
    times, values = noisy_series(1200, seed=6)
    values = np.round(values / 4) * 4
    for start in range(150, 1200, 150):
        values[start : start + 20] = values[start - 1]
    frame = score_series(PARAMS, times, values)
    assert frame["alert"].iloc[300:].sum() == 0


def test_the_seasonal_view_tolerates_a_daily_job_that_drifts_by_minutes() -> None:
    # Three past days on a 5-minute grid, flat at 10, with a job lifting the metric to 40 for 15 minutes each day,
    # starting 10 minutes later, 15 minutes earlier, 5 minutes later than 10:00 (readings 120 of each day).
    times = np.arange(3 * 288) * 300.0
    values = np.full(3 * 288, 10.0)
    for day, shift in enumerate((2, -3, 1)):
        values[day * 288 + 120 + shift : day * 288 + 123 + shift] = 40.0
    now = 3 * 288 * 300.0 + 120 * 300.0  # day 4 at 10:00
    residual = partial(seasonal_residual, times, values, season_seconds=86400, seasons=3, tolerance=1800)
    assert residual(now=now, value=40.0) == 0  # the job on time today
    assert residual(now=now, value=10.0) == 0  # or not started yet
    assert residual(now=now, value=70.0) == 30  # 30 above anything seen near 10:00 on any day
    assert residual(now=now + 5 * 3600, value=40.0) == 30  # the job five hours off its schedule


def test_replayed_alerts_match_the_streaming_alerts() -> None:
    times, values = noisy_series(900, seed=4)
    values[[500, 520, 700]] += 25
    frame = score_series(replace_threshold(0.6), times, values)
    replayed = replay_alerts(replace_threshold(0.6), frame["anomaly_score"].to_numpy())
    np.testing.assert_array_equal(replayed, frame["alert"].to_numpy().astype(bool))


def test_fit_params_reads_the_cadence() -> None:
    hourly = fit_params(pd.date_range("2024-01-01", periods=100, freq="h"))
    assert hourly.sampling_seconds == 3600
    assert hourly.cooldown == 24  # a day of hourly readings
    slow = fit_params(pd.date_range("2024-01-01", periods=10, freq="6h"))
    assert slow.season_seconds == 0  # four readings a day cannot carry a daily phase


def test_params_round_trip_through_a_dict() -> None:
    params = fit_params(pd.date_range("2024-01-01", periods=100, freq="min"), threshold=0.9)
    assert DetectorParams.from_dict(params.to_dict()) == params


def test_a_truncated_state_is_refused() -> None:
    times, values = noisy_series(50)
    _, state = score_series_state(times, values)
    with pytest.raises(ValueError):
        DeviceState.from_bytes(state.to_bytes()[:-8])


def replace_threshold(threshold: float) -> DetectorParams:
    return DetectorParams(**{**PARAMS.to_dict(), "threshold": threshold})


def score_series_state(times: list[pd.Timestamp], values: np.ndarray) -> tuple[list[float], DeviceState]:
    state, scores = DeviceState(), []
    for now, value in zip(times, values, strict=True):
        anomaly_score, _, state = score(PARAMS, state, now, value)
        scores.append(anomaly_score)
    return scores, state
