"""The model services this project serves: each a BentoML service of its own, on a port of its own.

Serving another model is one entry in ``SERVED_MODELS``: the name ``lakehouse serve <name>`` takes, the BentoML
service (``module:Class``, imported only by the server process) and the setting holding the service's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lakehouse.settings import Settings


@dataclass(frozen=True)
class ServedModel:
    name: str
    service: str  # what `bentoml serve` is given
    url_setting: str  # the Settings field with the service's address; the server listens on its port
    default_port: int  # when that address names no port
    try_hint: str = ""  # a first request to show, with {url} for the service's address

    def url(self, settings: Settings) -> str:
        return str(getattr(settings, self.url_setting)).rstrip("/")

    def port(self, settings: Settings) -> int:
        return urlsplit(self.url(settings)).port or self.default_port

    @property
    def url_variable(self) -> str:
        """The environment variable that sets the address."""
        return f"LAKEHOUSE_{self.url_setting.upper()}"


SERVED_MODELS = {
    "fraud": ServedModel(
        name="fraud",
        service="serving.fraud.service:FraudService",
        url_setting="fraud_service_url",
        default_port=3001,
        try_hint="curl -s {url}/score -H 'Authorization: Bearer <LAKEHOUSE_FRAUD_API_KEY>' ...",
    ),
    "sentiment": ServedModel(
        name="sentiment",
        service="serving.sentiment.service:SentimentService",
        url_setting="sentiment_service_url",
        default_port=3002,
        try_hint=(
            "curl -s {url}/score -H 'Authorization: Bearer <LAKEHOUSE_SENTIMENT_API_KEY>'"
            " -H 'Content-Type: application/json' -d '{{\"text\": \"What a lovely day\"}}'"
        ),
    ),
    "anomaly": ServedModel(
        name="anomaly",
        service="serving.anomaly.service:AnomalyService",
        url_setting="anomaly_service_url",
        default_port=3003,
        try_hint=(
            "curl -s {url}/score -H 'Authorization: Bearer <LAKEHOUSE_ANOMALY_API_KEY>'"
            " -H 'Content-Type: application/json'"
            ' -d \'{{"device_id": "d1", "sensor": "temp", "reading": {{"ts": "2026-01-01T00:00:00Z",'
            ' "value": 21.5}}}}\''
        ),
    ),
}


def served_model(name: str) -> ServedModel:
    try:
        return SERVED_MODELS[name]
    except KeyError:
        raise KeyError(f"no served model {name!r}; registered: {', '.join(sorted(SERVED_MODELS))}") from None
