-- Card numbers become keyed tokens (`ingest/core/cards.py`): token = HMAC-SHA256(key, SHA-256 hex of the number).
-- Rows stored before kept that unkeyed SHA-256 as `card_fingerprint` (reversible by trying the numbers that share
-- an issuer prefix and last four digits), so they are re-keyed in place without ever seeing a number. The key is
-- LAKEHOUSE_CARD_TOKEN_KEY, which the bootstrap passes as `lakehouse.card_token_key`.
--
-- What else held a number or an unkeyed hash of it, rewritten here in the same transaction:
--   * the orders' command fingerprints (an unkeyed hash of the command, card number included): re-keyed, so a
--     replay of an order placed before this migration is refused as a conflict rather than recognised;
--   * the audit log's row images of orders (the only rewrite of that append-only log: its guard is lifted for
--     this statement and put back);
--   * the outbox's `ecommerce.order.placed` version 1 events, sent or not: rewritten as version 2 (token, last four
--     digits, brand). A replay of the outbox then publishes the same event ids in the safe form.
-- Kafka and the lake keep what was published before: README "Card data" says how to drop that history.
-- HMAC-SHA256 (RFC 2104) over PostgreSQL's built-in sha256(): pgcrypto is not in every build (not in this stack's).
CREATE FUNCTION pg_temp.hmac_sha256(message bytea, secret bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    block bytea := CASE WHEN length(secret) > 64 THEN sha256(secret) ELSE secret END;
    inner_pad bytea;
    outer_pad bytea;
BEGIN
    block := block || decode(repeat('00', 64 - length(block)), 'hex');
    inner_pad := block;
    outer_pad := block;
    FOR i IN 0..63 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(block, i) # 54);  -- 0x36
        outer_pad := set_byte(outer_pad, i, get_byte(block, i) # 92);  -- 0x5c
    END LOOP;
    RETURN sha256(outer_pad || sha256(inner_pad || message));
END;
$$;

CREATE FUNCTION pg_temp.rekey(value text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    card_key text := nullif(current_setting('lakehouse.card_token_key', true), '');
BEGIN
    IF card_key IS NULL THEN
        RAISE EXCEPTION 'lakehouse.card_token_key is not set: apply migrations with `lakehouse stack up`';
    END IF;
    RETURN encode(pg_temp.hmac_sha256(convert_to(value, 'UTF8'), convert_to(card_key, 'UTF8')), 'hex');
END;
$$;

-- The brands of `ingest/core/cards.py`, by the same issuer prefixes.
CREATE FUNCTION pg_temp.card_brand(number text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN number ~ '^3[47]' THEN 'amex'
        WHEN number ~ '^(5[1-5]|2(2[2-9][1-9]|2[3-9][0-9]|[3-6][0-9][0-9]|7[01][0-9]|720))' THEN 'mastercard'
        WHEN number ~ '^4' THEN 'visa'
        WHEN number ~ '^(6011|65|64[4-9])' THEN 'discover'
        WHEN number ~ '^35(2[89]|[3-8][0-9])' THEN 'jcb'
        ELSE 'other'
    END
$$;

-- Rows re-keyed as they are, not as business changes: no version bump, no audit row holding the old values.
ALTER TABLE ecommerce.orders DISABLE TRIGGER USER;
ALTER TABLE ecommerce.orders RENAME COLUMN card_fingerprint TO card_token;
ALTER TABLE ecommerce.orders ADD COLUMN card_brand text;  -- unknown (NULL) for orders placed before
UPDATE ecommerce.orders
SET card_token = pg_temp.rekey(card_token), command_fingerprint = pg_temp.rekey(command_fingerprint);
ALTER TABLE ecommerce.orders ENABLE TRIGGER USER;

CREATE FUNCTION pg_temp.rekey_image(image jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT CASE WHEN image ? 'card_fingerprint' THEN
        (image - 'card_fingerprint' - 'command_fingerprint') || jsonb_build_object(
            'card_token', pg_temp.rekey(image ->> 'card_fingerprint'),
            'card_brand', NULL,
            'command_fingerprint', pg_temp.rekey(image ->> 'command_fingerprint'))
    ELSE image END
$$;

ALTER TABLE ecommerce.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE ecommerce.audit_log
SET before = pg_temp.rekey_image(before), after = pg_temp.rekey_image(after)
WHERE table_name = 'orders';
ALTER TABLE ecommerce.audit_log ENABLE TRIGGER audit_log_append_only;

CREATE FUNCTION pg_temp.tokenised(envelope jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_set(envelope, '{version}', '2') || jsonb_build_object('payload',
        ((envelope -> 'payload') - 'card_number') || jsonb_build_object(
            'card_token', pg_temp.rekey(encode(sha256(convert_to(envelope -> 'payload' ->> 'card_number', 'UTF8')), 'hex')),
            'card_last4', right(envelope -> 'payload' ->> 'card_number', 4),
            'card_brand', pg_temp.card_brand(envelope -> 'payload' ->> 'card_number')))
$$;

UPDATE ecommerce.outbox SET event_version = 2, envelope = pg_temp.tokenised(envelope::jsonb)::text
WHERE event_type = 'ecommerce.order.placed' AND event_version = 1;
