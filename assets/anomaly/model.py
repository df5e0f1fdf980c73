"""The anomaly model: the simulated fleet with labelled faults it learns its alert settings on, and the detector
logged and registered in MLflow, promoted by the champion gate (NAB standard score on a held-out fleet)."""

from dagster import Config, MaterializeResult, MetadataValue, asset

from assets.core.keys import table_key
from assets.core.mlflow_links import run_url
from assets.resources import LakehouseResource

MODEL = "anomaly"
TRAINING_FLEET = table_key(MODEL, "features", "training_fleet")
DETECTOR = table_key(MODEL, "models", "detector")


class AnomalyTrainingConfig(Config):
    """The simulated fleets' size: the default trains in about half a minute; raise them for steadier settings."""

    cadences: list[int] = [60, 300]  # sampling seconds, one simulated device model each
    devices: int = 8  # per cadence and fleet
    readings_per_device: int = 2500
    train_seed: int = 1
    holdout_seed: int = 2

    def training(self):  # noqa: ANN201 - models.anomaly.training is imported lazily (pandas, matplotlib)
        from models.anomaly.training import TrainingConfig

        return TrainingConfig(
            cadences=tuple(self.cadences),
            devices=self.devices,
            readings_per_device=self.readings_per_device,
            train_seed=self.train_seed,
            holdout_seed=self.holdout_seed,
        )


@asset(key=TRAINING_FLEET, group_name=MODEL, kinds={"pandas"})
def anomaly_training_fleet(config: AnomalyTrainingConfig) -> MaterializeResult:
    """A seeded simulated fleet of telemetry devices (one device model per sampling cadence) with labelled faults
    (spikes, level shifts, stuck sensors, slow degradations): what the anomaly detector's alert threshold and
    cooldown are chosen on. Shows its devices, readings and faults per kind."""
    from models.anomaly.training import fleet_summary, simulate

    training = config.training()
    summary = fleet_summary(simulate(training, training.train_seed))
    return MaterializeResult(
        metadata={
            "devices": summary["devices"],
            "readings": summary["readings"],
            "cadences_s": MetadataValue.json(summary["cadences_s"]),
            "faults_per_kind": MetadataValue.json(summary["faults"]),
            "seed": training.train_seed,
        }
    )


@asset(key=DETECTOR, group_name=MODEL, kinds={"mlflow"}, deps=[TRAINING_FLEET])
def anomaly_detector(context, config: AnomalyTrainingConfig, lakehouse: LakehouseResource) -> MaterializeResult:
    """The streaming anomaly detector's alert settings per sampling cadence, fitted on the training fleet by NAB
    score, judged on a held-out fleet (NAB score, faults caught and missed per kind, false alerts per device-day),
    logged to MLflow and registered as `iot_anomaly`; the `champion` alias, which the live scorer and the anomaly
    service use, moves only when it beats the current champion on the same held-out fleet."""
    from models.anomaly.registry import train_and_register  # MLflow is slow to import: only this asset needs it

    settings = lakehouse.settings()
    outcome = train_and_register(settings, config.training())
    result = outcome.registry
    context.log.info(f"model {result.model_name} v{result.version}: {result.reason}")
    return MaterializeResult(
        metadata={
            "model": f"{result.model_name} v{result.version}",
            "version": result.version,
            "promoted": result.promoted,
            "champion_version": result.champion_version,
            "decision": result.reason,
            "fitted_settings": MetadataValue.json(outcome.trained.params),
            **{name: MetadataValue.float(float(value)) for name, value in result.metrics.items()},
            "mlflow_run_id": result.run_id,
            "mlflow_ui": MetadataValue.url(run_url(settings, result.run_id)),
        }
    )
