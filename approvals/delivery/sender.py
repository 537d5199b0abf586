"""Hand messages to the email backend and turn what comes back into a ledger outcome.

The rule: a message is only retried when the ESP cannot have accepted it (the
connection never opened, 429). After a 5xx the ESP's own log is asked (see
reconcile). When it may have been accepted and cannot be asked (a timeout or a
dropped connection after the request went out), the delivery is "in doubt" and
a person decides: nothing is ever guessed or sent twice.

An SMTP relay (``smtp.EmailBackend``) answers per recipient and per phase: a 5xx
fails, a 4xx (421 too) retries, and silence after the end of DATA left is in doubt.
"""

import random
import smtplib
from dataclasses import dataclass
from enum import StrEnum

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import BadHeaderError

from ..merge import MergeError
from . import smtp

ACCEPTED_STATUSES = {"sent", "queued"}


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    IN_DOUBT = "in_doubt"
    # The ESP answered with a server error: ask it whether it kept the message (see reconcile).
    ASK_ESP = "ask_esp"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    esp_message_id: str = ""
    reason: str = ""
    retry_after: float | None = None


def send_message(connection, email, addresses: list[str]) -> dict[str, Result]:
    """Send one EmailMessage over an open connection; the outcome for each of its recipients.

    Never raises for delivery problems: every failure becomes a Result.
    """
    if isinstance(connection, smtp.EmailBackend):
        return _send_over_smtp(connection, email, addresses)
    try:
        sent = connection.send_messages([email])
    except AnymailRecipientsRefused as err:
        return {a: Result(Outcome.FAILED, reason=_recipient_reason(email, a) or str(err)) for a in addresses}
    except AnymailRequestsAPIError as err:
        return dict.fromkeys(addresses, _classify_api_error(err))
    except (AnymailError, MergeError, BadHeaderError) as err:
        # Refused before anything left (anymail validation, Django's header-injection check).
        return dict.fromkeys(addresses, Result(Outcome.FAILED, reason=str(err)))
    except smtplib.SMTPException as err:
        return _classify_django_smtp_error(err, addresses)
    except OSError as err:
        # Non-anymail backends (outbox, an SMTP connection that never opened): nothing was handed over.
        return dict.fromkeys(addresses, Result(Outcome.RETRY, reason=str(err)))
    return {a: _result_from_status(email, a, sent) for a in addresses}


def open_connection(connection) -> Result | None:
    """Open the backend's connection before a batch: None when ready, else why not (nothing was sent).

    A FAILED result means the relay and the settings cannot work together (certificate,
    STARTTLS, AUTH, a 5xx greeting): a person must act, so the engine pauses the campaign.
    """
    try:
        connection.open()
    except smtp.SessionFailed as err:
        code = err.answer.code
        if isinstance(err, smtp.IncompatibleRelay) or (code is not None and code >= 500):
            return Result(Outcome.FAILED, reason=str(err))
        return Result(Outcome.RETRY, reason=str(err))
    except OSError as err:
        return Result(Outcome.RETRY, reason=str(err))
    return None


def _send_over_smtp(connection: smtp.EmailBackend, email, addresses: list[str]) -> dict[str, Result]:
    try:
        answers = connection.send_envelope(email, addresses)
    except smtp.SessionFailed as err:
        # No session to send on, so nothing left; the next batch's open decides whether to pause.
        return dict.fromkeys(addresses, Result(Outcome.RETRY, reason=str(err)))
    except (MergeError, BadHeaderError, ValueError) as err:
        # Refused before anything left (header injection, an address that cannot be encoded).
        return dict.fromkeys(addresses, Result(Outcome.FAILED, reason=str(err)))
    message_id = email.extra_headers.get("Message-ID", "")
    return {address: _smtp_result(answers[address], message_id) for address in addresses}


def _smtp_result(answer: smtp.Answer, message_id: str) -> Result:
    """One recipient's outcome from the relay's answer and the phase it came in."""
    if answer.accepted:
        # A relay's queue id is free text; our Message-ID is the id the message carries.
        return Result(Outcome.SENT, esp_message_id=message_id)
    code = answer.code
    if answer.phase == smtp.Phase.END_OF_DATA and (code is None or code < 400):
        # The end of the message left and no refusal came back: the relay may have it.
        return Result(Outcome.IN_DOUBT, reason=f"{answer} (no answer after the whole message was sent: "
                                               "the server may have accepted it)")
    if code is not None and code >= 500:
        return Result(Outcome.FAILED, reason=str(answer))
    # A 4xx (421 included), or silence before the end of DATA left: nothing was accepted.
    return Result(Outcome.RETRY, reason=str(answer))


def _classify_django_smtp_error(err: smtplib.SMTPException, addresses: list[str]) -> dict[str, Result]:
    """Django's own SMTP backend: it cannot say whether the end of DATA had left, so silence is in doubt."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        refused = {address.lower(): code for address, (code, _text) in err.recipients.items()}
        return {a: _by_code(refused.get(a.lower(), 500), str(err)) for a in addresses}
    if isinstance(err, smtplib.SMTPResponseException):
        return dict.fromkeys(addresses, _by_code(err.smtp_code, str(err)))
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return dict.fromkeys(addresses, Result(Outcome.IN_DOUBT, reason=str(err)))
    return dict.fromkeys(addresses, Result(Outcome.RETRY, reason=str(err)))


def _by_code(code: int, reason: str) -> Result:
    return Result(Outcome.FAILED if code >= 500 else Outcome.RETRY, reason=reason)


def send_many(connection, emails, addresses: list[str]) -> list[Result]:
    """Send several messages in one ESP call (backends with ``send_batch``); a Result per message."""
    try:
        items = connection.send_batch(emails)
    except AnymailRequestsAPIError as err:
        return [_classify_api_error(err)] * len(emails)
    except (AnymailError, MergeError) as err:
        return [Result(Outcome.FAILED, reason=str(err))] * len(emails)
    return [_batch_item_result(item) for item in items]


def _batch_item_result(item: tuple[str, str, str]) -> Result:
    status, message_id, error = item
    if status in ACCEPTED_STATUSES:
        return Result(Outcome.SENT, esp_message_id=message_id)
    return Result(Outcome.FAILED, reason=f"ESP status: {status} ({error})")


def _result_from_status(email, recipient_address: str, sent: int) -> Result:
    status = getattr(email, "anymail_status", None)
    if status is None or status.recipients is None:
        # A plain Django backend: success means accepted; our Message-ID is the only id.
        if sent:
            return Result(Outcome.SENT, esp_message_id=email.extra_headers.get("Message-ID", ""))
        return Result(Outcome.IN_DOUBT, reason="The backend reported nothing sent.")
    recipient = status.recipients.get(recipient_address)
    if recipient is None:
        return Result(Outcome.IN_DOUBT, reason="The ESP's answer did not mention this recipient.")
    if recipient.status in ACCEPTED_STATUSES:
        return Result(Outcome.SENT, esp_message_id=recipient.message_id or "")
    if recipient.status == "unknown":
        return Result(Outcome.IN_DOUBT, reason="The ESP did not say whether it accepted the message.")
    return Result(Outcome.FAILED, reason=f"ESP status: {recipient.status}")


def _recipient_reason(email, recipient_address: str) -> str:
    status = getattr(email, "anymail_status", None)
    recipient = status.recipients.get(recipient_address) if status else None
    return f"The ESP refused the recipient ({recipient.status})." if recipient else ""


def _classify_api_error(err: AnymailRequestsAPIError) -> Result:
    reason = str(err).splitlines()[0][:500]
    status = err.status_code
    if status is not None:
        if status == 429:
            # Rate limited: refused before anything was accepted.
            return Result(Outcome.RETRY, reason=reason, retry_after=_retry_after(err))
        if status >= 500:
            # It may have stored the message before failing: its own log decides.
            return Result(Outcome.ASK_ESP, reason=reason, retry_after=_retry_after(err))
        return Result(Outcome.FAILED, reason=reason)
    if isinstance(err, requests.ConnectTimeout) or _never_connected(err):
        return Result(Outcome.RETRY, reason=reason)
    # Timed out or dropped after the request went out: the ESP may have it.
    return Result(Outcome.IN_DOUBT, reason=reason)


def _never_connected(err: Exception) -> bool:
    text = repr(err.__cause__ or err)
    return isinstance(err, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text
    )


def _retry_after(err: AnymailRequestsAPIError) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; an ESP's Retry-After is a floor."""
    base = settings.MAILGUARD["SEND_RETRY_BASE_SECONDS"]
    delay = random.uniform(0, base * (2 ** max(0, attempt - 1)))
    return max(delay, retry_after or 0.0)
