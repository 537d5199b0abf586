"""Celery entry points: thin wrappers that take ids and call approvals.delivery.engine."""

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import audit_checkpoints, send_window
from .delivery import engine
from .notifications import tasks as notification_tasks  # noqa: F401  (registers the notification tasks)

# A broker may hand a task it has held this long to a second worker (Redis' visibility timeout is an
# hour), so longer waits — a send window that opens tomorrow — are left to the beat sweep.
LONGEST_ETA = timedelta(minutes=50)


def schedule_dispatch(campaign_id: int, at: datetime | None) -> None:
    """Dispatch at ``at`` (None: now); a wait beyond LONGEST_ETA is the beat sweep's job."""
    if at is not None and at - timezone.now() > LONGEST_ETA:
        return
    dispatch_campaign.apply_async((campaign_id,), eta=at)


@shared_task(name="approvals.tasks.dispatch_campaign")
def dispatch_campaign(campaign_id: int) -> None:
    """Start sending and fan out batch tasks; safe to run any number of times."""
    if not send_window.is_open():
        opens = send_window.next_open()
        engine.wait_for_window(campaign_id, opens)
        schedule_dispatch(campaign_id, opens)
        return
    if engine.start(campaign_id):
        for _ in range(settings.MAILGUARD["SEND_PARALLELISM"]):
            send_batch.delay(campaign_id)


@shared_task(name="approvals.tasks.send_batch")
def send_batch(campaign_id: int) -> None:
    report = engine.send_batch(campaign_id)
    if report.again_in is not None:
        send_batch.apply_async((campaign_id,), countdown=report.again_in)


@shared_task(name="approvals.tasks.sweep_deliveries")
def sweep_deliveries() -> None:
    """Beat's safety net: stale claims become in doubt; due campaigns are (re)dispatched."""
    engine.sweep()
    if not send_window.is_open():
        return  # nothing starts or goes on outside the send window
    for campaign_id in engine.due_campaign_ids():
        dispatch_campaign.delay(campaign_id)
    for campaign_id in engine.campaigns_with_due_work():
        send_batch.delay(campaign_id)


@shared_task(name="approvals.tasks.checkpoint_audit")
def checkpoint_audit() -> None:
    """Beat: verify the audit chain and append a signed checkpoint (approvals.audit_checkpoints)."""
    audit_checkpoints.checkpoint()
