"""The social lakehouse: silver flows from the social contract, gold engagement, trending and topic sentiment."""
