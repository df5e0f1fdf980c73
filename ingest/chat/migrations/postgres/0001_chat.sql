-- The chat schema: users, rooms, memberships and the message ledger, with audit fields, their audit trail and the
-- transactional outbox from the kit (ingest/core/migrations).
--
-- PostgreSQL is the system of record and the place every rule is checked (membership, author-only edits, roles);
-- Cassandra (messages by room, mentions) and MongoDB (profiles) are read models projected from the outbox events.
-- `command_fingerprint` on a row is the hash of the command that created it; `commands` records every other
-- applied command (join, leave, send, edit, delete, review) by its client-chosen id, so a retry is recognised.
CREATE SCHEMA IF NOT EXISTS chat;

CREATE TABLE chat.users (
    user_id text PRIMARY KEY,
    display_name text NOT NULL,
    email text,
    registered_at timestamptz NOT NULL,
    -- The profile (avatar, preferences, blocked users); MongoDB's `chat_profiles` document is its projection.
    profile jsonb NOT NULL DEFAULT '{}'::jsonb,
    profile_version integer NOT NULL DEFAULT 0,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE chat.rooms (
    room_id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('direct', 'group', 'support')),
    title text NOT NULL,
    -- Another domain's reference, e.g. 'ecommerce:<customer_id>' for a customer's support room: one room each.
    external_ref text UNIQUE,
    opened_at timestamptz NOT NULL,  -- when the room was created (history keeps its own times)
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE chat.memberships (
    room_id text NOT NULL REFERENCES chat.rooms,
    user_id text NOT NULL REFERENCES chat.users,
    role text NOT NULL CHECK (role IN ('member', 'moderator', 'owner')),
    active boolean NOT NULL DEFAULT true,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON chat.memberships (user_id);

-- One row per message: who wrote it where, its current text and state. `message_id` is the timeuuid chosen before
-- the transaction commits, so the app and the relay write the same Cassandra row.
CREATE TABLE chat.messages (
    message_id uuid PRIMARY KEY,
    room_id text NOT NULL REFERENCES chat.rooms,
    author_id text NOT NULL,
    day date NOT NULL,
    body text NOT NULL,
    sent_at timestamptz NOT NULL,
    edited_at timestamptz,
    deleted_at timestamptz,
    deleted_by text,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);
CREATE INDEX messages_room_sent ON chat.messages (room_id, sent_at);

-- Applied commands by their client-chosen id: the same id with the same fingerprint is a replay (nothing written),
-- with another fingerprint a conflict.
CREATE TABLE chat.commands (
    command_id text PRIMARY KEY,
    kind text NOT NULL,
    command_fingerprint text NOT NULL,
    resource_id text NOT NULL,
    resource_version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

SELECT lakehouse_kit.create_audit_log('chat');
SELECT lakehouse_kit.create_outbox('chat');

SELECT lakehouse_kit.audit_table('chat', 'users', 'user_id');
SELECT lakehouse_kit.audit_table('chat', 'rooms', 'room_id');
SELECT lakehouse_kit.audit_table('chat', 'memberships', 'room_id', 'user_id');
SELECT lakehouse_kit.audit_table('chat', 'messages', 'message_id');
