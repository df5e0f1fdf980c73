-- Moderation of posts and comments (`social.moderation_decisions`, the `social.unmoderated` queue) and the inbox
-- of the NATS notifications social acts on (flags from chat lower a user's trust level): both from the kit.
SELECT lakehouse_kit.create_moderation('social');
SELECT lakehouse_kit.create_inbox('social');
