"""What each chat table means to the business: shown on its asset in the Dagster catalog."""

SILVER = {
    "users": "Every registered chat user, one row each; display name and e-mail only as hashes.",
    "profiles": "Each user's current profile: whether it has an avatar, how many preferences, whom they block.",
    "rooms": "Every room: direct, group or a customer's support room (with its outside reference).",
    "memberships": "Who is in which room now, with which role (member, moderator, owner), or left.",
    "messages": "Every message sent, once, with its text as sent: the conversations themselves.",
    "message_edits": "Every edit of a message, with the new text: how conversations were corrected.",
    "message_deletions": "Messages deleted, by whom and when (the message stays as a tombstone).",
    "message_moderations": "The sentiment service's latest decision per message: label, P(positive), flagged.",
    "message_reviews": "Moderators' reviews of messages: a human sentiment label and a keep/remove decision "
    "(training labels for the sentiment model).",
}

GOLD = {
    "room_activity_daily": "Per room and day: messages, active users, the sentiment mix (positive, negative, "
    "unscored) and the moderation rate (share of messages flagged): where conversations turn sour.",
}
