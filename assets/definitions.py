"""The code location Dagster loads (`dagster dev -m assets.definitions`): every registered domain's definitions
and every model's, merged, with the resources (configured once from the settings) and the executor."""

from importlib import import_module

from dagster import Definitions

from assets import anomaly, fraud, sentiment
from assets.core.executor import threaded_executor
from assets.core.maintenance import maintenance_automation
from assets.resources import resources_for
from ingest.domains import DOMAINS
from lakehouse.settings import load_settings

settings = load_settings()
defs = Definitions.merge(
    # Each domain's `assets/<domain>/` package: registered once, in ingest/domains.py.
    *(import_module(f"assets.{domain}").defs for domain in DOMAINS),
    fraud.defs,
    sentiment.defs,
    anomaly.defs,
    maintenance_automation(),
    # The environment is read here, once; every asset gets the same configured resources.
    # One process for a whole run: every asset shares one Spark session instead of starting a JVM each, and the
    # kit's Spark steps overlap on threads (assets/core/executor.py).
    Definitions(
        resources=resources_for(settings),
        executor=threaded_executor.configured({"max_concurrent": settings.dagster_max_concurrent}),
    ),
)
