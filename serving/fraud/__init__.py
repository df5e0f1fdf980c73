"""The fraud scoring service: ``contract`` (request, response, client; imports nothing of ours), ``features`` (the
model input of one order), ``service`` (the BentoML service). Imports nothing, so callers load only what they name."""
