"""The IoT anomaly detector: causal per-device scoring (``detector``) with a state that survives a restart
(``state``), the evidence views it weighs (``evidence``), the baselines it is judged beside (``baselines``) and a
seeded fleet simulator with labelled faults to judge it on (``simulator``). Only names here: importing this package
scores nothing."""

ANOMALY_MODEL_NAME = "iot_anomaly"
