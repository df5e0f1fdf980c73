"""Factories every domain's and model's Dagster definitions are built from: keys, metadata, bronze, silver, checks,
automation. A domain's `assets/<domain>/` declares what is its own and calls these."""
