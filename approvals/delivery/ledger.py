"""The delivery ledger: claiming work and recording outcomes, safely under any number of workers.

Every write that changes a delivery's status goes through this module, and moves the
campaign's ``DeliveryCounts`` in the same transaction by exactly the number of rows the
UPDATE changed, so the counters pages read can never disagree with the rows for long:
a write and its count commit or roll back together. ``rebuild_counts`` recounts them
from the rows (after a bulk load, or to check).
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..bulk_insert import insert_rows
from ..models import DailyDeliveryCounts, Delivery, DeliveryCounts

Status = Delivery.Status


# --- The counters -------------------------------------------------------------------------


# Outcomes the dashboard counts per day, by the time they happened.
DAILY = (Status.SENT, Status.FAILED)


def _shift(campaign_id: int, source: str | None, target: str | None, n: int, when=None) -> None:
    """Move ``n`` deliveries from one status's counter to another's (call inside the write's transaction).

    An outcome the dashboard counts per day (accepted, failed) is also added to the day of ``when``.
    """
    if not n:
        return
    changes = {}
    if source:
        changes[source] = F(source) - n
    if target:
        changes[target] = F(target) + n
    DeliveryCounts.objects.filter(campaign_id=campaign_id).update(**changes)
    if target in DAILY:
        _add_to_day(campaign_id, timezone.localdate(when or timezone.now()), target, n)


def _add_to_day(campaign_id: int, day, status: str, n: int) -> None:
    """Create the day's row or add to it, in one statement (ON CONFLICT: PostgreSQL and SQLite alike)."""
    table = connection.ops.quote_name(DailyDeliveryCounts._meta.db_table)
    column = connection.ops.quote_name(status)
    sql = (
        f"INSERT INTO {table} (campaign_id, day, sent, failed) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT (campaign_id, day) DO UPDATE SET {column} = {table}.{column} + excluded.{column}"
    )
    sent, failed = (n, 0) if status == Status.SENT else (0, n)
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id, connection.ops.adapt_datefield_value(day), sent, failed])


def _move(deliveries: QuerySet, campaign_id: int, source: str, target: str, when=None, **fields) -> int:
    """Those of ``deliveries`` still in ``source`` go to ``target``; their counters move with them."""
    with transaction.atomic():
        moved = deliveries.filter(campaign_id=campaign_id, status=source).update(status=target, **fields)
        _shift(campaign_id, source, target, moved, when)
    return moved


def create(campaign_id: int, recipients: Iterable[tuple[int, str]], message_id_for) -> int:
    """One pending delivery per (recipient id, address), and the campaign's counters; returns how many.

    ``message_id_for(key)`` makes each delivery's Message-ID. Call inside the approval's transaction.
    Written with multi-row INSERTs (approvals.bulk_insert): approving 10,000 recipients took
    seconds with ``bulk_create``.
    """
    rows = ((recipient_id, email, message_id_for(uuid.uuid4().hex)) for recipient_id, email in recipients)
    count = insert_rows(Delivery, ("recipient", "email", "message_id"), rows, campaign=campaign_id)
    DeliveryCounts.objects.update_or_create(
        campaign_id=campaign_id, defaults={status: 0 for status in Status.values} | {Status.PENDING: count})
    return count


def kept_counts(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """The counters of these campaigns (all zero for a campaign without a ledger): one query."""
    ids = list(campaign_ids)
    zero = {status: 0 for status in Status.values}
    found = {row.campaign_id: row.as_dict() for row in DeliveryCounts.objects.filter(campaign_id__in=ids)}
    return {pk: found.get(pk, dict(zero)) for pk in ids}


def rebuild_counts(campaign_ids: Iterable[int] | None = None) -> list[int]:
    """Recount the counters from the ledger rows; returns the campaigns whose counters were wrong.

    Safe while workers send: the counter rows are locked before the rows are counted, so a
    write either committed before the count (and is in it) or waits for the lock and then
    adds its change to the recounted value.
    """
    ids = None if campaign_ids is None else list(campaign_ids)
    with transaction.atomic():
        counters = DeliveryCounts.objects.select_for_update()
        rows = Delivery.objects.order_by()
        if ids is not None:
            counters, rows = counters.filter(campaign_id__in=ids), rows.filter(campaign_id__in=ids)
        kept = {row.campaign_id: row.as_dict() for row in counters}
        actual = _count_rows(rows)
        daily_kept, daily_actual = _daily_rows(ids), _count_days(rows)
        corrected = set()
        for campaign_id, counts in actual.items():
            if kept.get(campaign_id) != counts:
                DeliveryCounts.objects.update_or_create(campaign_id=campaign_id, defaults=counts)
                corrected.add(campaign_id)
        for campaign_id in set(daily_kept) | set(daily_actual):
            if daily_kept.get(campaign_id, {}) != daily_actual.get(campaign_id, {}):
                DailyDeliveryCounts.objects.filter(campaign_id=campaign_id).delete()
                DailyDeliveryCounts.objects.bulk_create(
                    DailyDeliveryCounts(campaign_id=campaign_id, day=day, sent=sent, failed=failed)
                    for day, (sent, failed) in daily_actual.get(campaign_id, {}).items())
                corrected.add(campaign_id)
    return sorted(corrected)


def _count_rows(rows: QuerySet) -> dict[int, dict[str, int]]:
    actual: dict[int, dict[str, int]] = defaultdict(lambda: {status: 0 for status in Status.values})
    for campaign_id, status, n in rows.values_list("campaign_id", "status").annotate(n=Count("id")):
        actual[campaign_id][status] = n
    return actual


def _count_days(rows: QuerySet) -> dict[int, dict]:
    """(sent, failed) per campaign and day: accepted by ``sent_at``, failed by ``updated_at``."""
    days: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for status, field, index in ((Status.SENT, "sent_at", 0), (Status.FAILED, "updated_at", 1)):
        per_day = (rows.filter(status=status).annotate(day=TruncDate(field))
                   .values_list("campaign_id", "day").annotate(n=Count("id")))
        for campaign_id, day, n in per_day:
            days[campaign_id][day][index] = n
    return {pk: {day: tuple(pair) for day, pair in by_day.items()} for pk, by_day in days.items()}


def _daily_rows(campaign_ids: list[int] | None) -> dict[int, dict]:
    rows = DailyDeliveryCounts.objects.all()
    if campaign_ids is not None:
        rows = rows.filter(campaign_id__in=campaign_ids)
    kept: dict[int, dict] = defaultdict(dict)
    for row in rows:
        if row.sent or row.failed:
            kept[row.campaign_id][row.day] = (row.sent, row.failed)
    return kept


# --- Claims and outcomes --------------------------------------------------------------------


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
        claimed = Delivery.objects.filter(id__in=ids, status=Status.PENDING).update(
            status=Status.SENDING,
            claim_token=token,
            claimed_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
        _shift(campaign_id, Status.PENDING, Status.SENDING, claimed)
    return list(Delivery.objects.filter(claim_token=token, status=Status.SENDING).select_related("recipient"))


def _finish(delivery: Delivery, status: str, **fields) -> None:
    # Only the worker that holds the claim may record the outcome.
    held = Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token)
    now = fields.pop("sent_at", None) or timezone.now()
    if status == Status.SENT:
        fields["sent_at"] = now
    _move(held, delivery.campaign_id, Status.SENDING, status, when=now, updated_at=now, **fields)


def mark_sent(delivery: Delivery, esp_message_id: str) -> None:
    _finish(delivery, Status.SENT, esp_message_id=esp_message_id, error="")


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
    first = sent[0][0]  # one claim: one token, one campaign
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENT, now, now, *values, first.claim_token, Status.SENDING])
        _shift(first.campaign_id, Status.SENDING, Status.SENT, cursor.rowcount, when=now)


def mark_failed(delivery: Delivery, reason: str) -> None:
    _finish(delivery, Status.FAILED, error=reason[:2000])


def mark_in_doubt(delivery: Delivery, reason: str) -> None:
    _finish(delivery, Status.IN_DOUBT, error=reason[:2000])


def retry_later(delivery: Delivery, reason: str, delay_seconds: float) -> None:
    """Give the delivery back for another attempt, or fail it once attempts run out."""
    if delivery.attempts >= settings.MAILGUARD["SEND_MAX_ATTEMPTS"]:
        mark_failed(delivery, reason)
        return
    _finish(
        delivery,
        Status.PENDING,
        claim_token="",
        error=reason[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=delay_seconds),
    )


def release(deliveries: list[Delivery]) -> int:
    """Give back claimed deliveries that were never handed to the ESP (pause, cancel, auto-pause)."""
    released = 0
    for delivery in deliveries:
        held = Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token)
        released += _move(held, delivery.campaign_id, Status.SENDING, Status.PENDING,
                          claim_token="", attempts=F("attempts") - 1)
    return released


def cancel_pending(campaign_id: int, reason: str = "") -> int:
    return _move(Delivery.objects.all(), campaign_id, Status.PENDING, Status.CANCELLED, error=reason)


def mark_stale_in_doubt(older_than_seconds: int) -> int:
    """Deliveries claimed by a worker that never reported back: the ESP may or may not have them."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = Delivery.objects.filter(claimed_at__lt=cutoff)
    campaign_ids = stale.filter(status=Status.SENDING).order_by().values_list("campaign_id", flat=True).distinct()
    return sum(
        _move(stale, campaign_id, Status.SENDING, Status.IN_DOUBT,
              error="The worker stopped before recording the ESP's answer; check before resending.")
        for campaign_id in list(campaign_ids)
    )


def resend_in_doubt(campaign_id: int, delivery_ids: Iterable[int]) -> int:
    """A person found the ESP never had these: back to pending, to be sent again."""
    chosen = Delivery.objects.filter(pk__in=list(delivery_ids))
    return _move(chosen, campaign_id, Status.IN_DOUBT, Status.PENDING, claim_token="", error="")


def mark_in_doubt_delivered(campaign_id: int, delivery_ids: Iterable[int]) -> int:
    """A person found these in the ESP's log: they count as sent."""
    chosen = Delivery.objects.filter(pk__in=list(delivery_ids))
    now = timezone.now()
    return _move(chosen, campaign_id, Status.IN_DOUBT, Status.SENT, when=now, sent_at=now)


def all_settled(campaign_id: int) -> bool:
    """No delivery is waiting or being sent: the campaign may finish."""
    return not Delivery.objects.filter(campaign_id=campaign_id, status__in=[Status.PENDING, Status.SENDING]).exists()


def counts(campaign_id: int) -> dict[str, int]:
    """Counted from the rows (what the engine decides a campaign's end on); pages use ``kept_counts``."""
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
