"""The champion as the service calls it: on float arrays, with one OpenMP thread, everything else read at load.

A single-row ``predict_proba`` on a pandas DataFrame cost ~3 ms, on an array ~1.4 ms (bench/fraud_serving.py): the
DataFrame is built, its column names checked against the fitted ones and converted on every call. The model was
fitted on a DataFrame, so sklearn warns on every array call; the served copy drops the fitted names instead, once,
after checking they are ``FEATURE_COLUMNS`` in that order — the order ``serving.fraud.features`` builds rows in.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from features.fraud.spec import FEATURE_COLUMNS
from models.fraud.evaluation import Thresholds
from models.fraud.registry import ChampionModel
from models.fraud.training import scores_of

# One OpenMP thread per call: on 2 busy cores the model's fan-out cost more than it saved and fought concurrent
# requests for the cores (8 ms p50 / 300 ms p99 vs 0.8 / 6 ms for one row).
MODEL_THREADS = 1
_this_thread = threading.local()


def one_openmp_thread() -> None:
    """Limit OpenMP in the calling thread, once per thread: the limit (``omp_set_num_threads``) holds per thread,
    and the threads of BentoML's and asyncio's pools live as long as the worker, so no call pays it again."""
    if not getattr(_this_thread, "limited", False):
        threadpool_limits(limits=MODEL_THREADS, user_api="openmp")
        _this_thread.limited = True


def array_estimator(model: ClassifierMixin, columns: Sequence[str] = FEATURE_COLUMNS) -> ClassifierMixin:
    """A shallow copy of ``model`` that takes rows as float arrays in ``columns`` order (it shares the fitted trees);
    raises when the model was fitted on other columns or in another order, which would silently permute features."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        return model
    if list(fitted) != list(columns):
        raise ValueError(f"the model was fitted on columns {list(fitted)}, not {list(columns)}")
    served = copy.copy(model)
    if isinstance(served, Pipeline):  # the names live on its first step (the logistic regression's scaler)
        (name, first), *rest = served.steps
        served.steps = [(name, array_estimator(first, columns)), *rest]
    else:
        del served.feature_names_in_
    return served


@dataclass(frozen=True)
class FraudScorer:
    """What scoring needs, ready at load: the array model, its registry name and version, its thresholds."""

    estimator: ClassifierMixin
    name: str
    version: str
    thresholds: Thresholds

    @classmethod
    def from_champion(cls, champion: ChampionModel) -> FraudScorer:
        return cls(array_estimator(champion.model), champion.name, champion.version, champion.thresholds)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """P(fraud) of each row (``FEATURE_COLUMNS`` order), in the calling thread with one OpenMP thread."""
        one_openmp_thread()
        return scores_of(self.estimator, rows)

    def decision(self, score: float) -> str:
        return self.thresholds.decision(score)
