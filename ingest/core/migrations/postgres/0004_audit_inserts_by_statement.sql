-- Audit of inserted rows by statement: the same `<schema>.audit_log` rows as `audit_row` writes for an INSERT
-- (table, key, 'INSERT', actor, no before image, the row as after image), written by one INSERT … SELECT over the
-- statement's transition table instead of one dynamic INSERT per row. A bulk load inserting 5,000 rows per statement
-- pays for the audit once, not 5,000 times (the per-row trigger re-plans its dynamic SQL for each row).
-- Updates and deletes keep the per-row trigger.
--
--   SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'orders', 'order_id');
CREATE FUNCTION lakehouse_kit.audit_inserted_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key_expression text;
BEGIN
    -- The row key as `audit_row` builds it: the key columns' text in the row's JSON image, joined by '/'.
    SELECT string_agg(format('j ->> %L', key_column), ', ') INTO key_expression FROM unnest(TG_ARGV) AS key_column;
    EXECUTE format(
        'INSERT INTO %I.audit_log (table_name, row_key, action, actor, before, after)
         SELECT $1, array_to_string(ARRAY[%s], ''/''), ''INSERT'',
                coalesce(nullif(current_setting($2, true), ''''), j ->> ''updated_by'', current_user), NULL, j
         FROM (SELECT to_jsonb(n) AS j FROM new_rows n) AS images',
        TG_TABLE_SCHEMA, key_expression
    ) USING TG_TABLE_NAME, TG_TABLE_SCHEMA || '.actor';
    RETURN NULL;
END;
$$;

CREATE FUNCTION lakehouse_kit.audit_inserts_by_statement(domain_schema text, table_name text, VARIADIC key_columns text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    keys text := (SELECT string_agg(quote_literal(key_column), ', ') FROM unnest(key_columns) AS key_column);
BEGIN
    EXECUTE format('DROP TRIGGER %I ON %I.%I', table_name || '_audit', domain_schema, table_name);
    EXECUTE format(
        'CREATE TRIGGER %I AFTER UPDATE OR DELETE ON %I.%I FOR EACH ROW EXECUTE FUNCTION lakehouse_kit.audit_row(%s)',
        table_name || '_audit', domain_schema, table_name, keys
    );
    EXECUTE format(
        'CREATE TRIGGER %I AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION lakehouse_kit.audit_inserted_rows(%s)',
        table_name || '_audit_inserts', domain_schema, table_name, keys
    );
END;
$$;
