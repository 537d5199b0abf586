"""Send one system mail through ``django.core.mail`` and record what happened in its ledger row.

The backend is ``MAILGUARD_SYSTEM_EMAIL_BACKEND``, or the one campaign mail uses
(the outbox, an ESP through anymail, SMTP) when that is empty. A row is claimed
with a conditional update, so two tasks for the same row send it once; errors are
retried with backoff up to ``MAILGUARD_SYSTEM_MAIL_MAX_ATTEMPTS`` times and then
the row stays "failed" with the error, for people to see. A notification whose
answer was lost may be sent twice: for system mail, twice is better than never.
"""

from dataclasses import dataclass
from datetime import timedelta

from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F
from django.utils import timezone

from ..models import SystemMail

Status = SystemMail.Status
# An address the ESP refuses will be refused again: no point in retrying.
PERMANENT_ERRORS = (AnymailRecipientsRefused, AnymailInvalidAddress)
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None  # seconds until the next attempt, when one is due


def system_backend() -> str:
    return settings.MAILGUARD_SYSTEM_EMAIL_BACKEND or settings.EMAIL_BACKEND


def send(mail_id: int) -> Outcome | None:
    """Send the row if it is still waiting; None when another task has it or it is already settled."""
    mail = _claim(mail_id)
    if mail is None:
        return None
    try:
        get_connection(backend=system_backend()).send_messages([_message(mail)])
    except PERMANENT_ERRORS as err:
        return _failed(mail, err)
    except Exception as err:  # noqa: BLE001 — each backend raises its own kinds; all are recorded, none lost
        return _retry_or_fail(mail, err)
    SystemMail.objects.filter(pk=mail.pk).update(status=Status.SENT, sent_at=timezone.now(), error="")
    return Outcome(Status.SENT)


def _claim(mail_id: int) -> SystemMail | None:
    claimed = SystemMail.objects.filter(pk=mail_id, status=Status.QUEUED).update(
        status=Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1)
    return SystemMail.objects.filter(pk=mail_id).first() if claimed else None


def _message(mail: SystemMail) -> EmailMessage:
    return EmailMessage(
        subject=mail.subject, body=mail.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[mail.to_address],
        headers={
            "Message-ID": mail.message_id,
            # RFC 3834: an automatic message; out-of-office replies should not answer it.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "X-MailGuard-Notification": mail.kind,
        },
    )


def _failed(mail: SystemMail, err: Exception) -> Outcome:
    SystemMail.objects.filter(pk=mail.pk).update(status=Status.FAILED, error=_describe(err))
    return Outcome(Status.FAILED)


def _retry_or_fail(mail: SystemMail, err: Exception) -> Outcome:
    if mail.attempts >= settings.MAILGUARD["SYSTEM_MAIL_MAX_ATTEMPTS"]:
        return _failed(mail, err)
    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (mail.attempts - 1))
    SystemMail.objects.filter(pk=mail.pk).update(
        status=Status.QUEUED, error=_describe(err), next_attempt_at=timezone.now() + timedelta(seconds=delay))
    return Outcome(Status.QUEUED, retry_in=delay)


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"[:2000]
