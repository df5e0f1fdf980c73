"""The fleet simulator: its faults are where its labels say, and a seed gives the same fleet every time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.iot.simulator import FAULT_KINDS, NAB_TIME_FORMAT, simulate_fleet

FLEET = simulate_fleet(devices=12, days=14, seed=7)


def test_the_same_seed_gives_the_same_fleet_and_another_seed_does_not() -> None:
    again = simulate_fleet(devices=12, days=14, seed=7)
    pd.testing.assert_frame_equal(FLEET.readings, again.readings)
    pd.testing.assert_frame_equal(FLEET.faults, again.faults)
    assert not np.allclose(FLEET.readings["value"], simulate_fleet(devices=12, days=14, seed=8).readings["value"])


def test_the_fleet_has_labelled_faults_of_every_kind() -> None:
    assert len(FLEET.readings) == 12 * 14 * 288
    assert set(FLEET.faults["kind"]) == set(FAULT_KINDS)


def test_each_fault_is_inside_its_window_and_nothing_like_it_outside() -> None:
    for fault in FLEET.faults.itertuples():
        device = FLEET.device(fault.device_id)
        inside = device["timestamp"].between(fault.start, fault.end)
        values = device["value"].to_numpy()
        if fault.kind == "stuck":
            assert np.ptp(values[inside.to_numpy()]) == 0  # frozen for the whole window
        elif fault.kind == "spike":  # the reading furthest from its neighbours, other faults aside, is in the window
            off = np.abs(values[1:-1] - (values[:-2] + values[2:]) / 2)
            others = FLEET.faults[(FLEET.faults.device_id == fault.device_id) & (FLEET.faults.start != fault.start)]
            elsewhere = np.zeros(len(values), dtype=bool)
            for other in others.itertuples():
                elsewhere |= device["timestamp"].between(other.start, other.end).to_numpy()
            off[elsewhere[1:-1]] = 0
            assert inside.iloc[int(np.argmax(off)) + 1]
        else:  # level shift, degradation: the window's readings move far from the same time the day before
            day_over_day = values[288:] - values[:-288]
            rows = np.flatnonzero(inside.to_numpy()) - 288
            usual = day_over_day[rows[0] - 288 : rows[0]]
            assert np.abs(day_over_day[rows]).max() > 4 * usual.std()


def test_the_windows_are_nab_windows_on_reading_times() -> None:
    windows = FLEET.nab_windows()
    assert set(windows) == {f"sim/{d}.csv" for d in FLEET.readings["device_id"].unique()}
    times = set(FLEET.readings["timestamp"].dt.strftime(NAB_TIME_FORMAT))
    spans = [span for file_windows in windows.values() for span in file_windows]
    assert len(spans) == len(FLEET.faults)
    assert all(start in times and end in times and start < end for start, end in spans)


def test_faults_stay_after_the_probation_and_apart() -> None:
    first_time = FLEET.readings["timestamp"].min()
    assert (FLEET.faults["start"] >= first_time + pd.Timedelta(days=14 * 0.15)).all()
    for _, faults in FLEET.faults.groupby("device_id"):
        ordered = faults.sort_values("start")
        assert (ordered["start"].iloc[1:].to_numpy() > ordered["end"].iloc[:-1].to_numpy()).all()
