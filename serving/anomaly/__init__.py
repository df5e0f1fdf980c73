"""The anomaly model served: the live scorer of ``iot.telemetry`` (``live``) and the BentoML service (``service``)."""
