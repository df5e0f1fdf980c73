-- The inbox of chat's NATS consumers (ingest/chat/notifications.py): each notification is handled once per event id.
SELECT lakehouse_kit.create_inbox('chat');
