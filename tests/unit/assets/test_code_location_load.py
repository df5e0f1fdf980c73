"""Loading the code location stays light: the Dagster UI and every `dagster` command import it before anything
else, so heavy libraries are imported inside the asset bodies and resources that use them, not at load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lakehouse.settings import PROJECT_ROOT

# Each costs seconds to import (Great Expectations ~12 s on this machine) and none is needed to list the assets.
HEAVY = ("great_expectations", "mlflow", "torch", "sklearn", "sentence_transformers", "redis")

PROBE = """
import json, sys
import assets.definitions
from pyspark import SparkContext
print(json.dumps({"modules": sorted(m for m in sys.modules if "." not in m), "jvm": SparkContext._jvm is not None}))
"""


def test_loading_the_definitions_imports_no_heavy_library_and_starts_no_jvm(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not loaded["jvm"]
    assert sorted(set(HEAVY) & set(loaded["modules"])) == []
