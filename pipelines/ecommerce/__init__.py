"""E-commerce silver and gold: contract-driven parsing, quarantine, current state and daily sales."""
