"""The fraud service the test run shares (the ``fraud_served`` fixture of ``conftest``): a BentoML server subprocess
serving a model trained on synthetic orders and registered in a throwaway MLflow store. The service tests and the
order-decision tests share it (starting one costs about 45 s); every test names its own customers, terminals and
orders, and reads the metrics as differences."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from lakehouse.settings import Settings
from models.fraud.training import TrainedModel
from serving.server import ModelServer

API_KEY = "test-fraud-key"
TTL_S = 3600


@dataclass(frozen=True)
class Served:
    server: ModelServer
    settings: Settings
    trained: TrainedModel

    def post(self, body: dict, key: str | None = API_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{self.server.url}/score", json=body, headers=headers, timeout=10)
