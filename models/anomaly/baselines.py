"""The baselines the detector is judged beside, both causal: NAB's windowed Gaussian and a random detector.

The windowed Gaussian scores a reading by how far into the tails of a Gaussian fitted to the previous ``window``
readings it falls, refitting every ``step`` readings (NAB's ``windowedGaussian``: 6400 and 100). The random detector
gives each reading a uniform score: the floor any detector must clear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def windowed_gaussian_scores(values: Sequence[float], window: int = 6400, step: int = 100) -> np.ndarray:
    """1 - two-sided Gaussian tail probability of each reading under the earlier readings' mean and deviation."""
    values = np.asarray(values, dtype=float)
    scores = np.zeros(len(values))
    mean, std = 0.0, 0.0
    for i in range(1, len(values)):
        if i % step == 0 or i < step:  # refit on a schedule, as NAB does (and on every reading while it is young)
            past = values[max(0, i - window) : i]
            mean, std = float(past.mean()), float(past.std())
        if std > 0:
            scores[i] = math.erf(abs(values[i] - mean) / (std * math.sqrt(2)))
    return scores


def random_scores(length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=length)
