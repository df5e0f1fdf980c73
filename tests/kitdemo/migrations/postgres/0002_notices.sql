-- The test domain also consumes NATS notifications: the kit's inbox, and the table its notice handler writes.
SELECT lakehouse_kit.create_inbox('kitdemo');

-- No key on purpose: a handler run twice for one event would leave two rows, which the tests look for.
CREATE TABLE kitdemo.notices_received (
    received_id bigserial PRIMARY KEY,
    notice_id text NOT NULL,
    event_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
