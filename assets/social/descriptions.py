"""What each social table means to the business: shown on its asset in the Dagster catalog."""

SILVER = {
    "users": "Every registered user, one row each, with the trust level they registered at; email only as a hash.",
    "trust_changes": "Every time flags lowered a user's trust level, with the count of flags and the reason.",
    "follows": "Who follows whom now (the latest follow or unfollow per pair).",
    "posts": "Every post as written: author, text, hashtags, topic and the status it started in.",
    "post_moderations": "The latest moderation decision per post: sentiment label, P(positive), flag, status.",
    "post_reviews": "Moderators' reviews of posts: the true sentiment label and keep/remove; training labels.",
    "comments": "Every comment, with its post and author.",
    "comment_moderations": "The latest moderation decision per comment.",
    "reactions": "Every reaction, once per (post, user, kind).",
}

GOLD = {
    "post_engagement_daily": "Per post and day: comments, reactions by kind and unique engagers.",
    "trending_posts": "The top posts of the last 3 days of data by a time-decayed engagement score (comment 2, "
    "reaction 1, half-life 24 h); removed and rejected posts left out.",
    "topic_sentiment_daily": "Per hashtag and day: posts, positive/negative/unscored by moderation, mean P(positive).",
}
