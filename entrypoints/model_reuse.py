"""Whether the main job can serve the models a previous run registered instead of training them again.

The sentiment and anomaly models are trained from data that does not change between runs (the packaged labelled
sentences, a simulated fleet of a fixed seed), so a re-run would spend minutes producing the same champions. The
main job reuses them when both have a ``champion`` alias; ``lakehouse run --retrain`` trains anyway (e.g. after
changing the training code). The fraud model is not concerned: it learns from the orders of each run.
"""

from __future__ import annotations

from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.anomaly import ANOMALY_MODEL_NAME
from models.sentiment import SENTIMENT_MODEL_NAME

REUSABLE = (SENTIMENT_MODEL_NAME, ANOMALY_MODEL_NAME)


def registered_champions(settings: Settings, model_names: tuple[str, ...] = REUSABLE) -> dict[str, str]:
    """The champion version of each of ``model_names`` that has one."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure_mlflow(settings)
    client, found = MlflowClient(), {}
    for name in model_names:
        try:
            found[name] = str(client.get_model_version_by_alias(name, "champion").version)
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
    return found
