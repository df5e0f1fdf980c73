"""The column mapping of an importer: a frozen dataclass of field -> CSV column with defaults, overridable from the
command line as ``field=column,...``. Each domain's importer subclasses it with its own fields."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Self


@dataclass(frozen=True)
class ColumnMapping:
    @classmethod
    def parse(cls, spec: str) -> Self:
        """``field=column,...`` over the defaults, e.g. ``transaction_id=tx_id,timestamp=ts``."""
        known = {f.name for f in fields(cls)}
        overrides: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, column = item.partition("=")
            if not sep or name.strip() not in known:
                raise ValueError(f"mapping item {item!r}: expected field=column with field in {sorted(known)}")
            overrides[name.strip()] = column.strip()
        return replace(cls(), **overrides)

    def columns(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
