"""Celery entry points: thin wrappers that take ids and call approvals.delivery.engine."""

from celery import shared_task
from django.conf import settings

from . import audit_checkpoints
from .delivery import engine


@shared_task(name="approvals.tasks.dispatch_campaign")
def dispatch_campaign(campaign_id: int) -> None:
    """Start sending and fan out batch tasks; safe to run any number of times."""
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
    for campaign_id in engine.due_campaign_ids():
        dispatch_campaign.delay(campaign_id)
    for campaign_id in engine.campaigns_with_due_work():
        send_batch.delay(campaign_id)


@shared_task(name="approvals.tasks.checkpoint_audit")
def checkpoint_audit() -> None:
    """Beat: verify the audit chain and append a signed checkpoint (approvals.audit_checkpoints)."""
    audit_checkpoints.checkpoint()
