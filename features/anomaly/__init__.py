"""The anomaly model's online state: each (device, sensor) detector state (``device_state``) in Redis
(``state_store``)."""
