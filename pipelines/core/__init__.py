"""The kit every domain's lakehouse is built from: table layout, contract parsing and quarantine, MERGE, the
incremental silver flow, Great Expectations helpers and the inventory the main job prints."""
