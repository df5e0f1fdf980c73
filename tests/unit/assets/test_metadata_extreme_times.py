"""Asset metadata of a table holding valid timestamps outside pandas' nanosecond range (a client may register at
year 1 or 9999): the preview shows them instead of failing the run (found when fuzzed data reached the lake)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from assets.core.metadata import delta_table_metadata


def test_a_preview_shows_timestamps_pandas_cannot_hold(tmp_path):
    path = str(tmp_path / "users")
    times = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)]
    write_deltalake(path, pa.table({"at": pa.array(times, pa.timestamp("us", "UTC"))}))
    metadata = delta_table_metadata(DeltaTable(path), path)
    assert metadata["row_count"].value == 2
    assert "0001-01-01" in metadata["preview"].value and "9999-12-31" in metadata["preview"].value
