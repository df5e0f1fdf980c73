"""NAB's standard-profile score of alerts on labelled series, by NAB's own scorer run as a tool from its file
(``<shared>/tools/nab_score.py``, never copied), as ``bench/anomaly_quality.py`` runs it."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

from lakehouse.settings import Settings

PROFILE = "standard"


@cache
def nab_scorer(shared_dir: str | None = None) -> ModuleType:
    """NAB's scorer module, loaded from the shared tools folder (``settings.shared_data_dir``'s parent)."""
    path = Path(shared_dir or Settings().shared_data_dir.parent) / "tools" / "nab_score.py"
    if not path.is_file():
        raise FileNotFoundError(f"NAB's scorer is not at {path}")
    spec = importlib.util.spec_from_file_location("nab_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_score(results: Mapping[str, tuple[Sequence[object], Sequence[bool]]], windows: Mapping[str, list]) -> float:
    """The normalised NAB score (0 = never alerting, 100 = perfect); 0 for a corpus without faults."""
    scorer = nab_scorer()
    totals = {"raw": 0.0, "null": 0.0, "perfect": 0.0}
    for name, (timestamps, alerts) in results.items():
        scored = scorer.score_file(list(timestamps), list(alerts), windows[name], PROFILE)
        for key in totals:
            totals[key] += scored[key]
    if totals["perfect"] == totals["null"]:
        return 0.0
    return float(scorer.normalize(totals["raw"], totals["null"], totals["perfect"]))
