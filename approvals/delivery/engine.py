"""The delivery engine: verify the approved content, then send claimed batches until none remain.

What the reviewer approved is what every batch sends: the whole content hash is
recomputed before the first message (and by the workflow before a resume), and
before each batch the part without the rows (sender, subject, bodies, mode,
attachments' names, types and bytes) is checked against the approval; any
difference stops the campaign with an audited reason on its page.

Called by the thin Celery tasks in ``approvals.tasks``; every function takes
ids and re-reads the database, which is the only source of truth.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import audit, send_window, transitions
from ..content_hash import message_digest
from ..merge import MergeError
from ..models import Attachment, Campaign, Delivery
from ..recipient_links import sends_links
from ..rendering import build_email
from . import ledger, rate_limit, reconcile
from .proof import send_marked_copy
from .sender import Outcome, Result, backoff_seconds, open_connection, send_many, send_message

log = logging.getLogger(__name__)
State = Campaign.State


@dataclass(frozen=True)
class BatchReport:
    handled: int
    # When to look again: None = nothing left for now, 0 = at once, n = in n seconds.
    again_in: float | None


def start(campaign_id: int) -> bool:
    """Move an approved campaign to sending once its content still matches the approval."""
    campaign = Campaign.objects.select_related("sender").get(pk=campaign_id)
    if campaign.state == State.SENDING:
        return True
    if campaign.state != State.APPROVED or not send_window.is_open():
        return False
    if not transitions.content_still_approved(campaign):
        log.error("campaign %s changed after approval; refusing to send", campaign_id)
        return False
    if not transitions.start_sending(campaign):
        return False
    _send_seed_copies(campaign)
    return True


def wait_for_window(campaign_id: int, opens) -> None:
    """An approved campaign due outside the send window starts when it opens (pages and the sweep read this)."""
    Campaign.objects.filter(pk=campaign_id, state=State.APPROVED, send_after__lt=opens).update(send_after=opens)


def _send_seed_copies(campaign: Campaign) -> None:
    """The organisation's seed mailboxes see the first recipient's message before anyone else."""
    first = campaign.recipients.order_by("row_number").first()
    for address in settings.MAILGUARD["SEED_ADDRESSES"]:
        accepted, detail = send_marked_copy(campaign, first, address, _("[SEED]"))
        audit.record("seed_sent", campaign=campaign, to=address, accepted=accepted, detail=detail)


def send_batch(campaign_id: int) -> BatchReport:
    # The preflight's findings can be large and sending never reads them: not loaded for every batch.
    campaign = Campaign.objects.select_related("sender").defer("findings").get(pk=campaign_id)
    if campaign.state != State.SENDING or not send_window.is_open():
        # Outside the send window the chain stops; the beat sweep picks it up when the window opens.
        return BatchReport(0, None)
    size = _batch_size(campaign)
    if campaign.canary_size is not None:
        size = min(size, _canary_room(campaign))
        if size <= 0:
            transitions.end_canary_stage(campaign)
            return BatchReport(0, None)
    attachments = _approved_payloads(campaign)
    if attachments is None:
        return BatchReport(0, None)
    deliveries = ledger.claim_batch(campaign_id, size)
    if deliveries:
        _send_claimed(campaign, deliveries, attachments)
    return BatchReport(len(deliveries), _look_again(campaign))


def _approved_payloads(campaign: Campaign) -> list[tuple[str, bytes, str]] | None:
    """The attachments to send, once this batch's content is shown to be the approved one.

    None when it is not: the campaign has been stopped with the reason. Campaigns approved
    before the digest existed have none recorded; for them the bytes are still checked.
    """
    found = message_digest(campaign)
    if campaign.approved_message_digest and found != campaign.approved_message_digest:
        log.error("campaign %s: sender, message or attachments changed after approval", campaign.pk)
        transitions.refuse_changed_content(campaign, "message-changed:" + found)
        return None
    if sends_links(campaign):
        return []  # files sent as download links stay on the server: nothing to read per batch
    payloads = []
    for attachment in campaign.attachments.all():
        payload = _payload(attachment)
        if hashlib.sha256(payload[1]).hexdigest() != attachment.sha256:
            log.error("campaign %s: attachment %s changed on disk after approval", campaign.pk, attachment.pk)
            transitions.refuse_changed_content(campaign, "attachment-bytes-changed:" + attachment.filename)
            return None
        payloads.append(payload)
    return payloads


def _canary_room(campaign: Campaign) -> int:
    """How many more the canary stage may send: its size less what has already left."""
    handled = campaign.deliveries.exclude(status__in=[Delivery.Status.PENDING, Delivery.Status.CANCELLED]).count()
    return campaign.canary_size - handled


def _batch_size(campaign: Campaign) -> int:
    if campaign.recipient_mode == Campaign.RecipientMode.SHARED:
        # One message for everyone: the whole (small) list is one claim.
        return settings.MAILGUARD["SHARED_MODE_MAX_RECIPIENTS"]
    return settings.MAILGUARD["SEND_BATCH_SIZE"]


def _send_claimed(campaign: Campaign, deliveries: list[Delivery], attachments) -> None:
    connection = get_connection()
    refused = open_connection(connection)
    if refused is not None:
        _could_not_connect(campaign, deliveries, refused)
        return
    try:
        if campaign.recipient_mode == Campaign.RecipientMode.SHARED:
            _send_shared(campaign, deliveries, attachments, connection)
        elif hasattr(connection, "send_batch"):
            _send_in_batches(campaign, deliveries, attachments, connection)
        else:
            _send_individually(campaign, deliveries, attachments, connection)
    finally:
        connection.close()


def _could_not_connect(campaign: Campaign, deliveries: list[Delivery], refused: Result) -> None:
    """Nothing was sent, and no recipient is to blame: retry later, or pause for a person.

    Settings the relay refuses (certificate, STARTTLS, AUTH) pause at once; an unreachable
    relay is retried with backoff and pauses the campaign once the attempts are used up.
    """
    exhausted = any(d.attempts >= settings.MAILGUARD["SEND_MAX_ATTEMPTS"] for d in deliveries)
    if refused.outcome == Outcome.FAILED or exhausted:
        transitions.pause_automatically(campaign, _("The mail server could not be used: %(error)s")
                                        % {"error": refused.reason})
        ledger.release(deliveries)
        return
    for delivery in deliveries:
        ledger.retry_later(delivery, refused.reason, backoff_seconds(delivery.attempts, refused.retry_after))


def _send_shared(campaign, deliveries, attachments, connection) -> None:
    """One message with everyone in To; each outcome is read from its one answer."""
    email = _build_or_fail(campaign, deliveries[0], attachments, connection)
    if email is None:
        for delivery in deliveries[1:]:
            ledger.mark_failed(delivery, _("The shared message could not be built."))
        return
    rate_limit.acquire()
    results = send_message(connection, email, [d.email for d in deliveries])
    for delivery in deliveries:
        _record(delivery, results[delivery.email])


def _send_individually(campaign, deliveries, attachments, connection) -> None:
    limits = settings.MAILGUARD
    consecutive_failures = 0
    # Accepted messages are written together every few messages (one UPDATE, not one per message);
    # a worker that dies before writing leaves them claimed, and the sweep shows them in doubt.
    accepted: list[tuple[Delivery, str]] = []
    try:
        for index, delivery in enumerate(deliveries):
            if index and index % limits["STATE_CHECK_EVERY"] == 0:
                _record_accepted(accepted)
                if not _still_sending(campaign):
                    _stop_here(campaign, deliveries[index:])
                    return
            email = _build_or_fail(campaign, delivery, attachments, connection)
            if email is None:
                continue
            rate_limit.acquire()
            result = send_message(connection, email, [delivery.email])[delivery.email]
            if result.outcome == Outcome.SENT:
                accepted.append((delivery, result.esp_message_id))
            else:
                _record(delivery, result)
            consecutive_failures = consecutive_failures + 1 if result.outcome in FAILING else 0
            if consecutive_failures >= limits["AUTO_PAUSE_AFTER_FAILURES"]:
                transitions.pause_automatically(campaign, _auto_pause_reason(consecutive_failures, result.reason))
                ledger.release(deliveries[index + 1:])
                return
    finally:
        _record_accepted(accepted)


def _record_accepted(accepted: list[tuple[Delivery, str]]) -> None:
    ledger.mark_many_sent(accepted)
    accepted.clear()


def _send_in_batches(campaign, deliveries, attachments, connection) -> None:
    """Many individual messages per ESP call, each with its own outcome."""
    step = min(connection.batch_limit, settings.MAILGUARD["SEND_BATCH_SIZE"])
    for start in range(0, len(deliveries), step):
        if start and not _still_sending(campaign):
            _stop_here(campaign, deliveries[start:])
            return
        built = [(d, _build_or_fail(campaign, d, attachments, connection)) for d in deliveries[start:start + step]]
        chunk = [d for d, email in built if email is not None]
        emails = [email for _d, email in built if email is not None]
        if not chunk:
            continue
        rate_limit.acquire(len(chunk))
        results = send_many(connection, emails, [d.email for d in chunk])
        accepted = [(d, r.esp_message_id) for d, r in zip(chunk, results, strict=True) if r.outcome == Outcome.SENT]
        ledger.mark_many_sent(accepted)
        for delivery, result in zip(chunk, results, strict=True):
            if result.outcome != Outcome.SENT:
                _record(delivery, result)


def _build_or_fail(campaign, delivery, attachments, connection):
    """The message for one delivery, or None after failing only that delivery with the reason.

    The preflight blocks what would break here (unknown fields, line breaks in headers);
    this keeps one bad row from stopping a batch if anything slips through.
    """
    try:
        email = build_email(campaign, delivery, attachments, connection)
    except MergeError as err:
        ledger.mark_failed(delivery, str(err))
        return None
    return email


FAILING = {Outcome.FAILED, Outcome.RETRY, Outcome.IN_DOUBT, Outcome.ASK_ESP}


def _auto_pause_reason(count: int, last_error: str) -> str:
    return _("Paused automatically after %(count)d failed messages in a row. Last error: %(error)s") % {
        "count": count, "error": last_error}


def _stop_here(campaign: Campaign, unsent: list[Delivery]) -> None:
    """Paused: the rest wait for resume. Cancelled: the rest are cancelled too."""
    ledger.release(unsent)
    campaign.refresh_from_db(fields=["state"])
    if campaign.state == State.CANCELLED:
        ledger.cancel_pending(campaign.pk)


def _still_sending(campaign: Campaign) -> bool:
    return Campaign.objects.filter(pk=campaign.pk, state=State.SENDING).exists()


def _payload(attachment: Attachment) -> tuple[str, bytes, str]:
    with attachment.file.open("rb") as handle:
        return attachment.filename, handle.read(), attachment.content_type


def _record(delivery: Delivery, result) -> None:
    if result.outcome == Outcome.ASK_ESP:
        result = _ask_esp(delivery, result)
    if result.outcome == Outcome.SENT:
        ledger.mark_sent(delivery, result.esp_message_id)
    elif result.outcome == Outcome.FAILED:
        ledger.mark_failed(delivery, result.reason)
    elif result.outcome == Outcome.IN_DOUBT:
        ledger.mark_in_doubt(delivery, result.reason)
    else:
        ledger.retry_later(delivery, result.reason, backoff_seconds(delivery.attempts, result.retry_after))


def _ask_esp(delivery: Delivery, result: Result) -> Result:
    """Settle a 5xx by the ESP's log: found = accepted, absent = retry, unknown = in doubt."""
    lookup = reconcile.lookup_for_configured_esp()
    if lookup is None:
        return Result(Outcome.IN_DOUBT, reason=result.reason)
    try:
        esp_id = lookup.find(reconcile.delivery_key(delivery.message_id))
    except reconcile.LookupUnavailable as err:
        return Result(Outcome.IN_DOUBT, reason=f"{result.reason}; the ESP could not be asked: {err}")
    if esp_id:
        return Result(Outcome.SENT, esp_message_id=esp_id)
    return Result(Outcome.RETRY, reason=result.reason, retry_after=result.retry_after)


def _look_again(campaign: Campaign) -> float | None:
    wait = ledger.seconds_until_next_due(campaign.pk)
    # One query decides "settled": another worker may be turning a claimed delivery back
    # into a pending retry right now, which two separate queries could both miss.
    if wait is None and ledger.all_settled(campaign.pk):
        transitions.finish_sending(campaign, ledger.counts(campaign.pk))
    return wait


def sweep() -> int:
    """Periodic safety net: surface stale claims as in doubt, finish or restart campaigns."""
    stale = ledger.mark_stale_in_doubt(settings.MAILGUARD["IN_DOUBT_AFTER_SECONDS"])
    if stale:
        log.warning("%d deliveries marked in doubt after their worker went silent", stale)
    for campaign in Campaign.objects.filter(state=State.SENDING):
        _look_again(campaign)
    return stale


def due_campaign_ids() -> list[int]:
    """Approved campaigns whose hold window is over (in case the broker lost their task)."""
    return list(
        Campaign.objects.filter(state=State.APPROVED, send_after__lte=timezone.now())
        .values_list("pk", flat=True)
    )


def campaigns_with_due_work() -> list[int]:
    """Sending campaigns with deliveries due now: their task chain may have been lost."""
    return list(
        Campaign.objects.filter(state=State.SENDING, deliveries__status=Delivery.Status.PENDING)
        .distinct()
        .values_list("pk", flat=True)
    )
