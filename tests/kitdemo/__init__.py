"""A domain defined only under tests/, built with the kit alone: proof that a domain is an addition, not a copy.

One entity (badges), two event types (issued, revoked), one silver table. Its contract is made per test run so
each run has its own topic (``kitdemo.<run>.badges``); its PostgreSQL schema and outbox are shared and bootstrapped
like any registered domain's.
"""
