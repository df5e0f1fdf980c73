-- Moderation of messages: the kit's decisions table and the queue of messages not yet decided (chat.unmoderated).
SELECT lakehouse_kit.create_moderation('chat');
