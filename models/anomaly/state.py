"""The detector's per-device state, as the detector and its callers import it: ``DeviceState`` and ``appended``.

The class lives on the features floor (``features.anomaly.device_state``), beside the Redis store that keeps it,
so the store need not import upward; this module keeps the detector's import path.
"""

from features.anomaly.device_state import DeviceState, appended

__all__ = ["DeviceState", "appended"]
