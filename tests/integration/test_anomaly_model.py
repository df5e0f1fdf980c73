"""The anomaly model in a real MLflow store and Redis: a training run records its settings, metrics and figures,
registers a version and gates the champion; the champion's settings load back; `lakehouse score anomaly` scores a
file with them; a device's detector state survives a round trip through Redis exactly."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from redis import Redis

from features.anomaly.state_store import delete_states, load_state, load_states, save_states, state_key
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.anomaly import ANOMALY_MODEL_NAME
from models.anomaly.detector import score, score_series, score_series_with_state
from models.anomaly.fitted import series_cadence
from models.anomaly.registry import NoChampionError, TrainingOutcome, load_champion_params, train_and_register
from models.anomaly.state import DeviceState
from models.anomaly.training import TrainingConfig
from serving.anomaly.series_scoring import cmd_score_anomaly

pytestmark = pytest.mark.integration
TINY = TrainingConfig(cadences=(300,), devices=3, readings_per_device=1200, train_seed=5, holdout_seed=6, plots=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, TrainingOutcome]:
    settings = Settings(home=tmp_path_factory.mktemp("anomaly-home"))
    configure_mlflow(settings)
    name = ANOMALY_MODEL_NAME  # the store is this module's own: the score command reads the default name
    with pytest.raises(NoChampionError, match="lakehouse anomaly train"):
        load_champion_params(settings, name)
    return settings, name, train_and_register(settings, TINY, name)


def test_a_run_records_settings_metrics_figures_and_becomes_the_first_champion(trained) -> None:
    settings, name, outcome = trained
    result = outcome.registry
    assert (result.version, result.promoted, result.champion_version) == ("1", True, "1")
    run = MlflowClient().get_run(result.run_id)
    assert run.data.params["model.threshold_300s"] == str(outcome.trained.model.fitted["300"]["threshold"])
    assert run.data.params["training.devices"] == "3"
    for metric in ("nab_standard", "false_alerts_per_device_day", "faults_caught_stuck", "faults_missed_spike"):
        assert metric in run.data.metrics
    figures = [item.path for item in MlflowClient().list_artifacts(result.run_id, "figures")]
    assert len(figures) == 2 and all(path.endswith(".png") for path in figures)

    champion = load_champion_params(settings, name)
    assert champion.model_version == "1"
    assert champion.params_for(None, 300.0) == outcome.trained.model.params_for(None, 300.0)
    assert load_champion_params(settings, name) is champion  # cached by version


def test_the_champion_moves_only_for_a_strictly_better_nab_score_on_the_same_holdout(trained) -> None:
    settings, name, first = trained
    again = train_and_register(settings, TINY, name).registry
    assert (again.version, again.promoted, again.champion_version) == ("2", False, "1")
    assert again.previous_champion_metric == pytest.approx(first.registry.metric)
    assert load_champion_params(settings, name).model_version == "1"


def test_the_score_command_writes_what_the_live_step_gives_with_the_champions_settings(trained, tmp_path) -> None:
    settings, _, _ = trained
    rng = np.random.default_rng(8)
    times = pd.date_range("2024-02-01", periods=500, freq="5min")
    values = 10 + rng.normal(0, 1, 500)
    values[450] += 30
    source = tmp_path / "series.csv"
    rows = [("timestamp", "value")] + [
        (t.strftime("%Y-%m-%d %H:%M:%S"), f"{v:.4f}") for t, v in zip(times, values, strict=True)
    ]
    rows.insert(10, ("not a time", "1.0"))  # reported with its line, left out
    with source.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out = tmp_path / "scores.csv"
    args = argparse.Namespace(input=source, out=out, timestamp_column="timestamp", value_column="value")
    assert cmd_score_anomaly(settings, args) == 0

    written = pd.read_csv(out, float_precision="round_trip")  # the scores are written exactly (repr)
    assert list(written.columns) == ["timestamp", "value", "anomaly_score", "alert"] and len(written) == 500
    clean = [round(float(v), 4) for v in values]
    params = load_champion_params(settings).params_for(None, series_cadence(list(times)))
    expected = score_series(params, [t.tz_localize("UTC") for t in times], clean)
    assert written["anomaly_score"].tolist() == expected["anomaly_score"].tolist()
    assert written["alert"].tolist() == expected["alert"].tolist() and written["alert"].sum() >= 1


def test_a_state_survives_redis_exactly_and_continues_with_identical_scores(
    stack_settings: Settings, unique_name: str
) -> None:
    from models.anomaly.detector import params_for_cadence

    params = params_for_cadence(300.0)
    times = list(pd.date_range("2024-01-01", periods=400, freq="5min", tz="UTC"))
    values = list(20 + np.random.default_rng(2).normal(0, 1, 400))
    _, state = score_series_with_state(params, times[:350], values[:350])
    redis = Redis.from_url(stack_settings.redis_url)
    keys = [(f"dev-{unique_name}", "temp"), (f"dev-{unique_name}", "rpm")]
    try:
        assert load_state(redis, *keys[0]) is None
        save_states(redis, {keys[0]: state, keys[1]: DeviceState()})
        assert redis.exists(state_key(*keys[0])) and state_key(*keys[0]) == f"anomaly:state:dev-{unique_name}:temp"
        restored = load_state(redis, *keys[0])
        assert restored == state and load_states(redis, keys)[keys[1]] == DeviceState()
        continued = []
        for now, value in zip(times[350:], values[350:], strict=True):
            anomaly_score, _, restored = score(params, restored, now, value)
            continued.append(anomaly_score)
        assert continued == score_series(params, times, values)["anomaly_score"].tolist()[350:]
    finally:
        delete_states(redis, keys)
        redis.close()
