"""Stands in as ``__main__`` of a pytest-xdist worker (see tests/conftest.py); importing it does nothing."""
