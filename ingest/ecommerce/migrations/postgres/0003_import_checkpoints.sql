-- How far each bulk import got (`ingest/ecommerce/bulk_import.py`): a restarted import skips the commands already
-- committed instead of sending them through PostgreSQL again. Written in the transaction of each batch, so it never
-- claims a batch that rolled back. `import_key` is the hash of the file's bytes and of the options that shape its
-- commands: another file, or the same file imported with another id prefix, starts from the beginning.
CREATE TABLE ecommerce.import_checkpoints (
    import_key text PRIMARY KEY,
    source text NOT NULL,
    commands_committed bigint NOT NULL CHECK (commands_committed >= 0),
    rows_committed bigint NOT NULL CHECK (rows_committed >= 0),
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
