-- The inbox of a domain that consumes NATS notifications: a domain's migration calls
--
--   SELECT lakehouse_kit.create_inbox('social');                          -- <schema>.inbox for the consumers
--
-- The kit's consumer (`ingest/core/notifications.py`) inserts each event id here in the same transaction as the
-- handler's effect, so a redelivered or republished event finds its id and is acknowledged without running the
-- handler again: once per event id, whatever JetStream delivers.
CREATE FUNCTION lakehouse_kit.create_inbox(domain_schema text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- `event_id` is text, not uuid: an envelope is parsed before its id is trusted, and a malformed id must not
    -- turn a handled event into a failing one.
    EXECUTE format($ddl$
        CREATE TABLE %1$I.inbox (
            event_id text PRIMARY KEY,
            event_type text NOT NULL,
            subject text NOT NULL,
            handled_at timestamptz NOT NULL DEFAULT now()
        );
        -- Pruning old ids (past the stream's retention, nothing can redeliver them) scans by time.
        CREATE INDEX inbox_handled_at ON %1$I.inbox (handled_at);
    $ddl$, domain_schema);
END;
$$;
