-- Moderation for any domain with user-written content (chat messages, social posts and comments):
--
--   SELECT lakehouse_kit.create_moderation('chat');   -- <schema>.moderation_decisions and <schema>.unmoderated
--
-- `moderation_decisions` holds the sentiment service's decision per piece of content (one row each: re-moderating
-- replaces it). It is the durable record the service's author features fall back to when Redis has nothing fresh,
-- so its shape is the same in every domain. `unmoderated` holds content not yet decided: a use case queues it in
-- the transaction that stores the content, so a crash before the decision cannot lose it; the decision removes it,
-- and `lakehouse <domain> moderate-pending` drains what the service could not judge (down, slow, crashed caller).
CREATE FUNCTION lakehouse_kit.create_moderation(domain_schema text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($ddl$
        CREATE TABLE %1$I.moderation_decisions (
            content_kind text NOT NULL,
            content_id text NOT NULL,
            author_id text NOT NULL,
            label smallint NOT NULL CHECK (label IN (0, 1)),
            score double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
            flagged boolean NOT NULL,
            reason text NOT NULL,
            model_version text NOT NULL,
            features_source text NOT NULL,
            decided_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (content_kind, content_id)
        );
        -- The fallback reads one author's last day of decisions.
        CREATE INDEX moderation_decisions_author ON %1$I.moderation_decisions (author_id, decided_at);
        CREATE TABLE %1$I.unmoderated (
            content_kind text NOT NULL,
            content_id text NOT NULL,
            author_id text NOT NULL,
            text text NOT NULL,
            queued_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            PRIMARY KEY (content_kind, content_id)
        );
    $ddl$, domain_schema);
END;
$$;
