"""The IoT anomaly detector: causal per-device scoring (``detector``) with a state that survives a restart
(``state``), the evidence views it weighs (``evidence``) and the baselines it is judged beside (``baselines``). The
seeded fleet simulator with labelled faults it is judged on is the IoT domain's (``ingest.iot.simulator``). Only
names here: importing this package scores nothing."""

ANOMALY_MODEL_NAME = "iot_anomaly"
