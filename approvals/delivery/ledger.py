"""The delivery ledger: claiming work and recording outcomes, safely under any number of workers."""

import uuid
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from ..models import Delivery

Status = Delivery.Status


def _due(campaign_id: int):
    now = timezone.now()
    return Delivery.objects.filter(campaign_id=campaign_id, status=Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def claim_batch(campaign_id: int, size: int) -> list[Delivery]:
    """Mark up to ``size`` due deliveries as ours and return them.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets workers take disjoint batches
    without waiting. Everywhere, the UPDATE is conditional on the row still
    being pending and the claim is read back by its token, so two workers can
    never both own one delivery, even where SKIP LOCKED does not exist (SQLite).
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        candidates = _due(campaign_id).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:size])
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids, status=Status.PENDING).update(
            status=Status.SENDING,
            claim_token=token,
            claimed_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
    return list(Delivery.objects.filter(claim_token=token, status=Status.SENDING).select_related("recipient"))


def _finish(delivery: Delivery, **fields) -> None:
    # Only the worker that holds the claim may record the outcome.
    Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token, status=Status.SENDING).update(
        updated_at=timezone.now(), **fields
    )


def mark_sent(delivery: Delivery, esp_message_id: str) -> None:
    _finish(delivery, status=Status.SENT, esp_message_id=esp_message_id, sent_at=timezone.now(), error="")


def mark_many_sent(sent: list[tuple[Delivery, str]]) -> None:
    """Record a whole batch of accepted messages in one statement (the hot path at 100,000 recipients).

    ``UPDATE … FROM (VALUES …)`` works on PostgreSQL and SQLite 3.33+; like every other
    outcome write it only touches rows this worker still holds the claim for.
    """
    if not sent:
        return
    now = timezone.now()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(sent))
    sql = (
        f"UPDATE {table} SET status = %s, esp_message_id = v.esp, sent_at = %s, error = '', updated_at = %s "
        f"FROM (SELECT column1 AS id, column2 AS esp FROM (VALUES {rows}) AS x) AS v "
        f"WHERE {table}.id = v.id AND {table}.claim_token = %s AND {table}.status = %s"
    )
    values = [value for delivery, esp_id in sent for value in (delivery.pk, esp_id)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENT, now, now, *values, sent[0][0].claim_token, Status.SENDING])


def mark_failed(delivery: Delivery, reason: str) -> None:
    _finish(delivery, status=Status.FAILED, error=reason[:2000])


def mark_in_doubt(delivery: Delivery, reason: str) -> None:
    _finish(delivery, status=Status.IN_DOUBT, error=reason[:2000])


def retry_later(delivery: Delivery, reason: str, delay_seconds: float) -> None:
    """Give the delivery back for another attempt, or fail it once attempts run out."""
    if delivery.attempts >= settings.MAILGUARD["SEND_MAX_ATTEMPTS"]:
        mark_failed(delivery, reason)
        return
    _finish(
        delivery,
        status=Status.PENDING,
        claim_token="",
        error=reason[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=delay_seconds),
    )


def release(deliveries: list[Delivery]) -> int:
    """Give back claimed deliveries that were never handed to the ESP (pause, cancel, auto-pause)."""
    released = 0
    for delivery in deliveries:
        released += Delivery.objects.filter(
            pk=delivery.pk, claim_token=delivery.claim_token, status=Status.SENDING
        ).update(status=Status.PENDING, claim_token="", attempts=F("attempts") - 1)
    return released


def cancel_pending(campaign_id: int, reason: str = "") -> int:
    return Delivery.objects.filter(campaign_id=campaign_id, status=Status.PENDING).update(
        status=Status.CANCELLED, error=reason)


def mark_stale_in_doubt(older_than_seconds: int) -> int:
    """Deliveries claimed by a worker that never reported back: the ESP may or may not have them."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
        status=Status.IN_DOUBT,
        error="The worker stopped before recording the ESP's answer; check before resending.",
    )


def all_settled(campaign_id: int) -> bool:
    """No delivery is waiting or being sent: the campaign may finish."""
    return not Delivery.objects.filter(campaign_id=campaign_id, status__in=[Status.PENDING, Status.SENDING]).exists()


def counts(campaign_id: int) -> dict[str, int]:
    rows = Delivery.objects.filter(campaign_id=campaign_id).values("status").annotate(n=Count("id"))
    result = Counter({status: 0 for status in Status.values})
    result.update({row["status"]: row["n"] for row in rows})
    return dict(result)


def seconds_until_next_due(campaign_id: int) -> float | None:
    """None when nothing is pending; 0 when something is due now."""
    pending = Delivery.objects.filter(campaign_id=campaign_id, status=Status.PENDING)
    if not pending.exists():
        return None
    if _due(campaign_id).exists():
        return 0.0
    earliest = pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    return max(0.0, (earliest - timezone.now()).total_seconds())
