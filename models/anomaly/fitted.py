"""The trained anomaly model: per sampling cadence, the alert settings chosen on a simulated training fleet.

The detector itself has no weights; what training fits is how it alerts (threshold, cooldown) for devices of each
cadence. ``params_for`` is the one rule every path uses to get a device's settings (the live scorer, the service,
``lakehouse score anomaly``): a device model the champion was fitted on gets its own entry; any other gets the
entry of the nearest fitted cadence (in log scale), applied to its own cadence. So a device model registered by a
replay of a file, with the file's cadence, gets exactly the settings the score command gives that file.

It is a scikit-learn estimator only so the shared registry (``models.registry``) can log, version and gate it like
the other models; its state is plain dicts of numbers, which skops stores without pickling.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from models.anomaly.detector import DetectorParams, epoch_seconds, params_for_cadence, score_series

FEATURE_COLUMNS = ("timestamp", "value")
# What training chooses per cadence; scores never depend on them, only alerts do. The cooldown is kept as a factor of
# the cadence's default (``params_for_cadence``), so it means the same time span on a device of another cadence.
FITTED_SETTINGS = ("threshold", "cooldown_scale")


def cadence_key(sampling_seconds: float) -> str:
    return f"{float(sampling_seconds):g}"


def series_cadence(timestamps: object) -> float:
    """A series' sampling cadence: the median gap between its readings (the default when it has one reading)."""
    times = epoch_seconds(timestamps)
    gaps = np.diff(times)
    return float(np.median(gaps)) if len(gaps) else DetectorParams.sampling_seconds


def with_settings(params: DetectorParams, settings: dict[str, float]) -> DetectorParams:
    """``params`` with fitted settings applied (the cooldown scaled from the cadence's default)."""
    cooldown = max(1, round(params.cooldown * float(settings.get("cooldown_scale", 1.0))))
    return replace(params, threshold=float(settings["threshold"]), cooldown=cooldown)


class FittedDetector(BaseEstimator):
    """``fitted``: cadence key -> fitted settings; ``models``: device model id -> the cadence key it was fitted on."""

    def __init__(self, fitted: dict[str, dict[str, float]] | None = None, models: dict[str, str] | None = None) -> None:
        self.fitted = fitted
        self.models = models

    def params_for(self, model_id: str | None, sampling_seconds: float | None) -> DetectorParams:
        fitted, models = self.fitted or {}, self.models or {}
        if model_id is not None and model_id in models:
            key = models[model_id]
            return self._with_settings(float(sampling_seconds or float(key)), fitted[key])
        sampling = float(sampling_seconds) if sampling_seconds else DetectorParams.sampling_seconds
        if not fitted:
            return params_for_cadence(sampling)
        nearest = min(fitted, key=lambda key: (abs(math.log(float(key) / sampling)), float(key)))
        return self._with_settings(sampling, fitted[nearest])

    @staticmethod
    def _with_settings(sampling_seconds: float, settings: dict[str, float]) -> DetectorParams:
        return with_settings(params_for_cadence(sampling_seconds), settings)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The alerts (0/1) of one series (``timestamp``, ``value``), scored as ``lakehouse score anomaly`` does."""
        params = self.params_for(None, series_cadence(frame["timestamp"].tolist()))
        scored = score_series(params, frame["timestamp"].tolist(), frame["value"].astype(float).tolist())
        return scored["alert"].to_numpy()

    def describe(self) -> dict[str, dict[str, float]]:
        return {key: dict(value) for key, value in (self.fitted or {}).items()}
