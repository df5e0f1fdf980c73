"""The social domain: users with a trust level, follows, posts and comment threads, reactions, home feeds fanned out
on write, and moderation of everything users write. Built on the domain kit (`ingest/core`)."""
