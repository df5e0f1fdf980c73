"""The sentiment and moderation service: ``contract`` (requests, responses, client calls; imports nothing of ours),
the service itself and the features it reads. Imports nothing, so callers load only what they name."""
