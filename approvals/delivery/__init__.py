"""Delivery: from an approved campaign to one accepted message per recipient.

``ledger`` owns the Delivery rows (claims, outcomes, counts); ``sender`` hands
messages to the email backend and classifies what came back; ``engine`` ties
them together for the Celery tasks; ``outbox`` is the embedded-mode backend.
"""
