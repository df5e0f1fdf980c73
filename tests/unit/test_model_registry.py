"""The registry's champion gate, the same for every model (its MLflow side: tests/integration/test_fraud_registry.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.registry import decide_champion, same_features


def test_the_champion_moves_only_for_a_strictly_better_metric():
    assert decide_champion(0.42, None, "PR-AUC").promote
    assert decide_champion(0.81, 0.80, "PR-AUC").promote
    assert not decide_champion(0.80, 0.80, "PR-AUC").promote
    decision = decide_champion(0.70, 0.80, "PR-AUC")
    assert not decision.promote
    assert decision.reason == "PR-AUC 0.7000 does not beat the champion's 0.8000"


def test_a_champion_is_comparable_only_on_the_same_feature_columns_in_the_same_order():
    rows = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(rows, np.array([0, 0, 1, 1]))
    assert same_features(model, ("a", "b"))
    assert not same_features(model, ("b", "a"))
    assert not same_features(model, ("a", "b", "c"))
    assert not same_features(LogisticRegression().fit(rows.to_numpy(), np.array([0, 0, 1, 1])), ("a", "b"))
