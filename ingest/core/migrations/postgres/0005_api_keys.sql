-- API keys of every domain app (`ingest/core/api_keys.py`, managed with `lakehouse keys`). A key is shown once, when
-- it is created: only the SHA-256 of its secret part is kept (the secret is 32 random bytes, so a plain hash cannot
-- be brute-forced; a slow password hash would only slow each request). `scopes` are the domain contract's scope
-- names, or '*' for all of them. Revoking stamps `revoked_at`; rows are kept, so the audit log's actor names stay
-- explained.
CREATE TABLE lakehouse_kit.api_keys (
    key_id text PRIMARY KEY,
    domain text NOT NULL,
    client text NOT NULL,
    scopes text[] NOT NULL,
    secret_sha256 text NOT NULL,
    rate_per_minute integer NOT NULL CHECK (rate_per_minute > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_domain ON lakehouse_kit.api_keys (domain, client);
