"""MailGuard's own mail: telling people what waits for them and what happened to their campaigns.

A separate path from campaign mail: notifications are planned from audit events
(``event_recorded``, called once by ``approvals.audit.record`` after the event is
committed) and from the beat jobs (reminders, expiry, the auditors' daily digest);
each one is a ``SystemMail`` row — the ledger of system mail, with status and
error — rendered in the recipient's language and sent by an id-only Celery task
through ``django.core.mail`` with the configured backend (outbox, ESP or SMTP).
It never touches the delivery engine or its ledger.

    kinds.py      what kinds exist, which are mandatory, who may turn which off
    planning.py   who gets what for each audit event; creating the ledger rows
    composing.py  subject and body in the recipient's language
    sending.py    one row through django.core.mail: claim, send, record the outcome
    scheduled.py  reminders, expired review requests, the daily digest, re-queueing
    tasks.py      the thin Celery tasks
"""


def event_recorded(event_id: int, action: str) -> None:
    """An audit event was committed: queue the notifications it calls for (most call for none)."""
    from . import planning

    if action in planning.PLANNERS:
        planning.plan_for_event(event_id)
