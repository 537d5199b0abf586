"""Hand messages to the email backend and turn what comes back into a ledger outcome.

The rule: a message is only retried when the ESP cannot have accepted it (the
connection never opened, 429). After a 5xx the ESP's own log is asked (see
reconcile). When it may have been accepted and cannot be asked (a timeout or a
dropped connection after the request went out), the delivery is "in doubt" and
a person decides: nothing is ever guessed or sent twice.
"""

import random
from dataclasses import dataclass
from enum import StrEnum

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import BadHeaderError

from ..merge import MergeError

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
    try:
        sent = connection.send_messages([email])
    except AnymailRecipientsRefused as err:
        return {a: Result(Outcome.FAILED, reason=_recipient_reason(email, a) or str(err)) for a in addresses}
    except AnymailRequestsAPIError as err:
        return dict.fromkeys(addresses, _classify_api_error(err))
    except (AnymailError, MergeError, BadHeaderError) as err:
        # Refused before anything left (anymail validation, Django's header-injection check).
        return dict.fromkeys(addresses, Result(Outcome.FAILED, reason=str(err)))
    except OSError as err:
        # Non-anymail backends (SMTP, outbox): the message was not handed over.
        return dict.fromkeys(addresses, Result(Outcome.RETRY, reason=str(err)))
    return {a: _result_from_status(email, a, sent) for a in addresses}


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
