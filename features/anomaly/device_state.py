"""Per-device detector state, kept apart from the scoring maths so it can be stored where it survives a restart.

A live scorer scores each reading with the state it saved after the previous one (in Redis: ``state_store``), so
the state is a plain value: two counters and a few chronological arrays, serialised to bytes exactly (float64, no
rounding), which is what lets a restored state continue with scores identical to an uninterrupted run. It lives
on the features floor, under the store that keeps it; the detector (``models.anomaly``) imports it from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

import numpy as np

_FORMAT = 2


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True)
class DeviceState:
    """What one device's detector remembers: its recent readings and how unusual each of them looked.

    ``times``/``values`` are the last readings (the baseline; times in epoch seconds). Each ``*_scores`` array holds
    the past readings' nonconformity under one view (recent pattern, seasonal residual): the calibration set the next
    reading is ranked against; ``run_lengths`` holds the lengths of the past runs of identical readings that have
    ended. ``recent`` holds the last instant surprises, whose mean is the slow signal, and ``slow_scores`` that mean's
    past values (its own calibration set).
    """

    seen: int = 0
    last_alert: int = -1  # index (in ``seen`` terms) of the last alert; -1: none yet
    last_alert_score: float = 0.0
    times: np.ndarray = field(default_factory=_empty)
    values: np.ndarray = field(default_factory=_empty)
    shape_scores: np.ndarray = field(default_factory=_empty)
    season_scores: np.ndarray = field(default_factory=_empty)
    run_lengths: np.ndarray = field(default_factory=_empty)
    recent: np.ndarray = field(default_factory=_empty)
    slow_scores: np.ndarray = field(default_factory=_empty)

    def to_bytes(self) -> bytes:
        """A JSON header line, then each array's float64 bytes (little-endian), in field order."""
        arrays = {name: np.ascontiguousarray(getattr(self, name), dtype="<f8") for name in _array_names()}
        header = {
            "format": _FORMAT,
            "seen": self.seen,
            "last_alert": self.last_alert,
            "last_alert_score": self.last_alert_score,
            "lengths": {name: len(a) for name, a in arrays.items()},
        }
        return json.dumps(header).encode() + b"\n" + b"".join(a.tobytes() for a in arrays.values())

    @classmethod
    def from_bytes(cls, blob: bytes) -> DeviceState:
        head, _, body = blob.partition(b"\n")
        header = json.loads(head)
        if header.get("format") != _FORMAT:
            raise ValueError(f"unknown detector state format {header.get('format')!r}")
        arrays, offset = {}, 0
        for name in _array_names():
            length = int(header["lengths"][name])
            arrays[name] = np.frombuffer(body, dtype="<f8", count=length, offset=offset).astype(np.float64)
            offset += 8 * length
        if offset != len(body):
            raise ValueError("detector state is truncated or has trailing bytes")
        scalars = {"seen": int(header["seen"]), "last_alert": int(header["last_alert"])}
        return cls(**scalars, last_alert_score=float(header["last_alert_score"]), **arrays)

    def __eq__(self, other: object) -> bool:
        # Arrays compare element-wise, so the dataclass's generated equality would not give one bool.
        if not isinstance(other, DeviceState):
            return NotImplemented
        scalars = ("seen", "last_alert", "last_alert_score")
        return all(getattr(self, name) == getattr(other, name) for name in scalars) and all(
            np.array_equal(getattr(self, name), getattr(other, name)) for name in _array_names()
        )


def _array_names() -> list[str]:
    return [f.name for f in fields(DeviceState) if f.name not in ("seen", "last_alert", "last_alert_score")]


def appended(window: np.ndarray, item: float, capacity: int) -> np.ndarray:
    """A new array: ``window`` with ``item`` at the end, keeping at most ``capacity`` (oldest dropped first)."""
    keep = window[len(window) - capacity + 1 :] if len(window) >= capacity else window
    out = np.empty(len(keep) + 1, dtype=np.float64)
    out[:-1] = keep
    out[-1] = item
    return out
