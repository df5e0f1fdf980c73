"""Data flows one way; `assets/` is Dagster glue imported by nothing else, and only it imports dagster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NON_DAGSTER_PACKAGES = ["lakehouse", "stack", "ingest", "pipelines", "features", "models", "serving"]


def imported_modules(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize("package", NON_DAGSTER_PACKAGES)
def test_only_assets_import_dagster_and_nobody_imports_assets(package):
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path, module in imported_modules(package)
        if module.split(".")[0] in {"dagster", "assets"}
    ]
    assert offenders == []


def test_the_checker_sees_imports():
    # Guards the test above against silently scanning nothing.
    modules = {module for _, module in imported_modules("assets")}
    assert "dagster" in modules
