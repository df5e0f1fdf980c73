-- What every domain's PostgreSQL schema is built with: the audit columns as a template, and functions a domain's
-- migration calls:
--
--   CREATE TABLE chat.users (user_id text PRIMARY KEY, ...,
--       LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
--   SELECT lakehouse_kit.create_audit_log('chat');                        -- <schema>.audit_log, append-only
--   SELECT lakehouse_kit.audit_table('chat', 'users', 'user_id');         -- stamp + audit triggers on a table
--   SELECT lakehouse_kit.create_outbox('chat');                           -- <schema>.outbox for the relay
--
-- The audit columns (created_at/by, updated_at/by, version) are copied into each table from the template. Triggers
-- keep them honest: an UPDATE bumps `version` (the optimistic-lock counter) and `updated_at` and can never rewrite who
-- created the row; every INSERT/UPDATE/DELETE is copied to `<schema>.audit_log` in the same transaction, with
-- the actor the use case named (`SET LOCAL <schema>.actor`).
CREATE SCHEMA IF NOT EXISTS lakehouse_kit;

-- Never written: only its columns are used, by `LIKE` in each audited table.
CREATE TABLE lakehouse_kit.audit_columns (
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);

CREATE FUNCTION lakehouse_kit.stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.created_at := OLD.created_at;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END;
$$;

-- TG_ARGV holds the key columns of the table; the row key is their values joined by '/'.
CREATE FUNCTION lakehouse_kit.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_image jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
    key_parts text[] := ARRAY[]::text[];
    key_column text;
BEGIN
    FOREACH key_column IN ARRAY TG_ARGV LOOP
        key_parts := key_parts || (row_image ->> key_column);
    END LOOP;
    EXECUTE format(
        'INSERT INTO %I.audit_log (table_name, row_key, action, actor, before, after) VALUES ($1, $2, $3, $4, $5, $6)',
        TG_TABLE_SCHEMA
    ) USING
        TG_TABLE_NAME,
        array_to_string(key_parts, '/'),
        TG_OP,
        -- The use case names its actor for the whole transaction; a hand-written change falls back to the row.
        coalesce(nullif(current_setting(TG_TABLE_SCHEMA || '.actor', true), ''), row_image ->> 'updated_by', current_user),
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    RETURN NULL;
END;
$$;

CREATE FUNCTION lakehouse_kit.reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.audit_log is append-only (% refused)', TG_TABLE_SCHEMA, TG_OP;
END;
$$;

CREATE FUNCTION lakehouse_kit.create_audit_log(domain_schema text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Append-only history of every business row change, written by trigger in the changing transaction.
    EXECUTE format($ddl$
        CREATE TABLE %1$I.audit_log (
            audit_id bigserial PRIMARY KEY,
            table_name text NOT NULL,
            row_key text NOT NULL,
            action text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
            actor text NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            before jsonb,
            after jsonb
        );
        CREATE INDEX audit_log_row ON %1$I.audit_log (table_name, row_key);
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON %1$I.audit_log
            FOR EACH ROW EXECUTE FUNCTION lakehouse_kit.reject_audit_change();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %1$I.audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_kit.reject_audit_change();
        -- Belt and braces for roles other than the owner: nobody but the trigger path writes the log.
        REVOKE UPDATE, DELETE, TRUNCATE ON %1$I.audit_log FROM PUBLIC;
    $ddl$, domain_schema);
END;
$$;

CREATE FUNCTION lakehouse_kit.audit_table(domain_schema text, table_name text, VARIADIC key_columns text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE UPDATE ON %I.%I FOR EACH ROW EXECUTE FUNCTION lakehouse_kit.stamp_update()',
        table_name || '_stamp', domain_schema, table_name
    );
    EXECUTE format(
        'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I.%I FOR EACH ROW EXECUTE FUNCTION lakehouse_kit.audit_row(%s)',
        table_name || '_audit', domain_schema, table_name,
        (SELECT string_agg(quote_literal(key_column), ', ') FROM unnest(key_columns) AS key_column)
    );
END;
$$;

CREATE FUNCTION lakehouse_kit.create_outbox(domain_schema text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Events waiting for the relay. `envelope` is the exact text published; `sent_at` is set once Kafka acked it.
    EXECUTE format($ddl$
        CREATE TABLE %1$I.outbox (
            id bigserial PRIMARY KEY,
            event_id uuid NOT NULL UNIQUE,
            topic text NOT NULL,
            message_key text NOT NULL,
            event_type text NOT NULL,
            event_version integer NOT NULL,
            envelope text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz
        );
        -- The relay only ever scans the unsent tail; a partial index keeps that scan small however long it gets.
        CREATE INDEX outbox_unsent ON %1$I.outbox (id) WHERE sent_at IS NULL;
    $ddl$, domain_schema);
END;
$$;
