"""Reading notifications the way a person gets them: the .eml files in the outbox, or the fake ESP."""

import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from django.conf import settings

from approvals import notifications
from approvals.models import AuditEvent, SystemMail


def outbox_file(mail: SystemMail) -> Path:
    """Where the outbox backend writes a message (named after its Message-ID)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", mail.message_id.strip("<>"))
    return Path(settings.MAILGUARD_OUTBOX_DIR) / f"{name}.eml"


def arrived(mail: SystemMail) -> EmailMessage | None:
    path = outbox_file(mail)
    return email.message_from_bytes(path.read_bytes(), policy=default) if path.exists() else None


def subject_of(message: EmailMessage) -> str:
    # Python's generator folds a long encoded subject onto the next line ("Subject: \r\n =?utf-8?…"),
    # which unfolds with a leading space; mail programs show it without.
    return str(message["Subject"]).strip()


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def plan_after(action: str, campaign=None) -> list[SystemMail]:
    """What approvals.audit.record's commit hook does for the latest event of ``action``.

    Tests inside a rolled-back transaction never commit, so they call the hook's target themselves
    (tests/notifications/test_worker_notifications.py runs the real hook and the real worker).
    """
    events = AuditEvent.objects.filter(action=action)
    if campaign is not None:
        events = events.filter(campaign=campaign)
    event = events.latest("id")
    notifications.event_recorded(event.pk, event.action)
    return list(SystemMail.objects.filter(event=event).order_by("id"))
