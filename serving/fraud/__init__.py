"""The fraud scoring service: ``contract`` (requests, responses, client; imports nothing of ours), ``features`` (the
model input of orders), ``model`` (the champion as served: arrays, one OpenMP thread), ``coalescing`` (single orders
scored together), ``service`` (the BentoML service). Imports nothing, so callers load only what they name."""
