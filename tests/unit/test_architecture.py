"""The architecture of the tree, and the checker itself on small planted trees (so it is known to catch each case)."""

from __future__ import annotations

from pathlib import Path

import pytest
from architecture import FLOORS, parse_tree, violations

from ingest.domains import DOMAINS

ROOT = Path(__file__).resolve().parents[2]


def plant(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if parent != Path("."):
                (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


def problems(root: Path, files: dict[str, str], domains: tuple[str, ...] = ("shop", "chat")) -> list[str]:
    return violations(parse_tree(plant(root, files), FLOORS), domains)


def test_the_tree_keeps_its_floors_and_domains_apart() -> None:
    assert violations(parse_tree(ROOT), DOMAINS) == []


def test_the_checker_reads_the_whole_tree() -> None:
    # Guards the test above against silently scanning nothing.
    tree = parse_tree(ROOT)
    assert {"lakehouse.settings", "ingest.core.relay", "assets.definitions", "entrypoints.cli"} <= set(tree)
    assert any(i.target == "dagster" for i in tree["assets.definitions"])
    # A lazy import inside a function counts like any other.
    assert any(i.target == "entrypoints.main_job" for i in tree["entrypoints.cli"])


def test_a_clean_planted_tree_passes(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        {
            "lakehouse/settings.py": "import os\n",
            "stack/manager.py": "from lakehouse.settings import x\n",
            "ingest/core/relay.py": "from lakehouse import settings\nimport stack.manager\n",
            "ingest/shop/app.py": "from ingest.core import relay\nfrom serving.fraud.contract import Request\n",
            "serving/fraud/contract.py": "import httpx\nfrom pydantic import BaseModel\n",
            "assets/shop/__init__.py": "import dagster\nfrom ingest.shop import app\n",
            "entrypoints/cli.py": "def main():\n    from assets import shop\n",
        },
    ) == ["entrypoints.cli:2 imports assets.shop (nothing imports assets/)"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"ingest/shop/app.py": "from models.fraud import train\n", "models/fraud.py": ""},
            "ingest.shop.app:1 imports models.fraud (upward: ingest is below models)",
        ),
        (
            {
                "pipelines/core/flow.py": "def lazy():\n    import features.online_store\n",
                "features/online_store.py": "",
            },
            "pipelines.core.flow:2 imports features.online_store (upward: pipelines is below features)",
        ),
        (
            {"lakehouse/spark.py": "from stack import jvm\n", "stack/jvm.py": ""},
            "lakehouse.spark:1 imports stack.jvm (the ground floor imports nothing of ours)",
        ),
        (
            {"ingest/shop/orders.py": "from ingest.chat.users import lookup\n", "ingest/chat/users.py": ""},
            "ingest.shop.orders:1 imports ingest.chat.users (domain shop imports domain chat)",
        ),
        (
            {"pipelines/shop/gold.py": "from pipelines.chat import silver\n", "pipelines/chat/silver.py": ""},
            "pipelines.shop.gold:1 imports pipelines.chat.silver (domain shop imports domain chat)",
        ),
        (
            {"pipelines/core/inventory.py": "from pipelines.shop import gold\n", "pipelines/shop/gold.py": ""},
            "pipelines.core.inventory:1 imports pipelines.shop.gold (a kit never imports a domain (shop))",
        ),
        (
            {"features/online.py": "from dagster import asset\n"},
            "features.online:1 imports dagster (only assets/ imports dagster)",
        ),
        (
            {"models/registry.py": "from entrypoints import cli\n", "entrypoints/cli.py": ""},
            "models.registry:1 imports entrypoints.cli (nothing imports entrypoints/)",
        ),
        (
            # Not a wire contract: it imports the service's implementation, so the upward import stands.
            {
                "ingest/shop/check.py": "from serving.fraud.contract import Request\n",
                "serving/fraud/contract.py": "from serving.fraud.service import Service\n",
                "serving/fraud/service.py": "",
            },
            "ingest.shop.check:1 imports serving.fraud.contract (upward: ingest is below serving)",
        ),
        (
            # Not a wire contract either: importing it runs a package __init__ that loads the model.
            {
                "ingest/shop/check.py": "from serving.fraud.contract import Request\n",
                "serving/fraud/__init__.py": "from models.fraud import train\n",
                "serving/fraud/contract.py": "import httpx\n",
                "models/fraud.py": "",
            },
            "ingest.shop.check:1 imports serving.fraud.contract (upward: ingest is below serving)",
        ),
    ],
)
def test_each_broken_rule_is_caught(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert expected in problems(tmp_path, files)
