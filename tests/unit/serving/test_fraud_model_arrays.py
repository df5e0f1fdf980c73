"""The served fraud model on float arrays gives exactly the scores of the DataFrame path training and the registry
use (for each model family the backtest may register), refuses a model fitted on other columns, and limits OpenMP
once per calling thread."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from fraud_synthetic import synthetic_orders
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_info

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN
from models.fraud.evaluation import Thresholds
from models.fraud.registry import ChampionModel
from models.fraud.training import FAMILIES, FAMILY_PARAMS, fit_classifier, scores_of
from serving.fraud.model import FraudScorer, array_estimator, one_openmp_thread


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return synthetic_orders(1500, seed=5)


# Small versions of each family the backtest may pick (the logistic regression is a pipeline behind a scaler).
SMALL = {"project": {"max_iter": 30, "random_state": 0}, "logreg": {}, "forest": {"n_estimators": 10}}


@pytest.fixture(scope="module", params=list(FAMILIES))
def fitted(request, training: pd.DataFrame):
    family = request.param
    return fit_classifier(training, FAMILY_PARAMS[family] | SMALL[family], family)


def test_array_scores_are_identical_to_the_dataframe_scores(fitted, training) -> None:
    frame = training[list(FEATURE_COLUMNS)].head(300)
    expected = fitted.predict_proba(frame)[:, 1]  # the path training and the registry take
    served = array_estimator(fitted)
    rows = frame.to_numpy(dtype=np.float64)
    assert np.array_equal(scores_of(served, rows), expected)
    one_by_one = np.concatenate([scores_of(served, rows[i : i + 1]) for i in range(len(rows))])
    # Trees give the same bits row by row; a linear model's matrix product may sum a batch in another order.
    assert one_by_one == pytest.approx(expected, rel=1e-12, abs=0)


def test_the_served_copy_takes_arrays_without_warning_and_leaves_the_model_alone(fitted, training) -> None:
    served = array_estimator(fitted)
    rows = training[list(FEATURE_COLUMNS)].head(5).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn warns when fitted names meet an array
        scores_of(served, rows)
    assert list(fitted.feature_names_in_) == list(FEATURE_COLUMNS)  # the registry's model still checks its input


def test_a_model_fitted_on_other_columns_or_order_is_refused(training) -> None:
    shuffled = [*FEATURE_COLUMNS[1:], FEATURE_COLUMNS[0]]
    model = HistGradientBoostingClassifier(max_iter=5).fit(training[shuffled], training[LABEL_COLUMN])
    with pytest.raises(ValueError, match="fitted on columns"):
        array_estimator(model)


def test_the_scorer_reads_name_version_and_thresholds_once(fitted, training) -> None:
    champion = ChampionModel(fitted, "ecommerce-fraud", "7", Thresholds(review=0.3, decline=0.8))
    scorer = FraudScorer.from_champion(champion)
    rows = training[list(FEATURE_COLUMNS)].head(50)
    assert np.array_equal(scorer.scores(rows.to_numpy()), fitted.predict_proba(rows)[:, 1])
    assert (scorer.name, scorer.version) == ("ecommerce-fraud", "7")
    assert [scorer.decision(s) for s in (0.1, 0.3, 0.8)] == ["approve", "review", "decline"]


def openmp_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}


def test_openmp_is_limited_in_the_calling_thread_only() -> None:
    seen: dict[str, set[int]] = {}

    def limited() -> None:
        one_openmp_thread()
        one_openmp_thread()  # the second call is free: the thread remembers
        seen["limited"] = openmp_threads()

    thread = threading.Thread(target=limited)
    thread.start()
    thread.join()
    assert seen["limited"] == {1}
