-- The social schema: the system of record of every command (users, follows, posts, comments, reactions, reviews),
-- with audit fields, its audit trail and the transactional outbox from the kit.
--
-- PostgreSQL is where each command commits with its event; MongoDB (post documents with their threads) and
-- Cassandra (home feeds, reactions) are read models the outbox relay fills after Kafka acknowledged the events.
-- `command_fingerprint` recognises a retried command (same hash: a replay; other hash: a conflict).
CREATE SCHEMA IF NOT EXISTS social;

CREATE TABLE social.users (
    user_id text PRIMARY KEY,
    handle text NOT NULL,
    email text NOT NULL,
    trust_level text NOT NULL CHECK (trust_level IN ('trusted', 'normal', 'restricted')),
    registered_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

-- A trust level decided for a user id before that user registered (a flag in chat, say): applied at registration.
CREATE TABLE social.pending_trust (
    user_id text PRIMARY KEY,
    trust_level text NOT NULL CHECK (trust_level IN ('trusted', 'normal', 'restricted')),
    reason text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

-- One flag per flagged piece of content (`flag_key` = '<domain>:<kind>:<id>'), whoever reports it first: the
-- trust rule counts an author's flags of the last 24 hours. Kept for ids not registered yet too.
CREATE TABLE social.author_flags (
    flag_key text PRIMARY KEY,
    user_id text NOT NULL,
    flagged_at timestamptz NOT NULL
);
CREATE INDEX author_flags_user ON social.author_flags (user_id, flagged_at);

CREATE TABLE social.follows (
    follower_id text NOT NULL REFERENCES social.users,
    followee_id text NOT NULL REFERENCES social.users,
    following boolean NOT NULL,
    changed_at timestamptz NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
-- Fan-out reads one author's current followers.
CREATE INDEX follows_followee ON social.follows (followee_id) WHERE following;

CREATE TABLE social.posts (
    post_id text PRIMARY KEY,
    author_id text NOT NULL REFERENCES social.users,
    text text NOT NULL,
    hashtags text[] NOT NULL,
    topic text,
    status text NOT NULL CHECK (status IN ('published', 'held', 'rejected', 'flagged', 'removed')),
    posted_at timestamptz NOT NULL,  -- the author's time (created_at, from the audit columns, is the row's)
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE social.comments (
    comment_id text PRIMARY KEY,
    post_id text NOT NULL REFERENCES social.posts,
    author_id text NOT NULL REFERENCES social.users,
    text text NOT NULL,
    flagged boolean,  -- NULL: not moderated yet
    commented_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

-- A reaction is its own key: the same user reacting the same way to the same post twice is a replay.
CREATE TABLE social.reactions (
    post_id text NOT NULL REFERENCES social.posts,
    user_id text NOT NULL REFERENCES social.users,
    kind text NOT NULL,
    reacted_at timestamptz NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (post_id, user_id, kind)
);

CREATE TABLE social.reviews (
    review_id text PRIMARY KEY,
    post_id text NOT NULL REFERENCES social.posts,
    reviewer_id text NOT NULL,
    label smallint NOT NULL CHECK (label IN (0, 1)),
    decision text NOT NULL CHECK (decision IN ('keep', 'remove')),
    reviewed_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

SELECT lakehouse_kit.create_audit_log('social');
SELECT lakehouse_kit.create_outbox('social');

SELECT lakehouse_kit.audit_table('social', 'users', 'user_id');
SELECT lakehouse_kit.audit_table('social', 'pending_trust', 'user_id');
SELECT lakehouse_kit.audit_table('social', 'follows', 'follower_id', 'followee_id');
SELECT lakehouse_kit.audit_table('social', 'posts', 'post_id');
SELECT lakehouse_kit.audit_table('social', 'comments', 'comment_id');
SELECT lakehouse_kit.audit_table('social', 'reactions', 'post_id', 'user_id', 'kind');
SELECT lakehouse_kit.audit_table('social', 'reviews', 'review_id');
