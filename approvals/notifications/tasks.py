"""Celery entry points for system mail: thin, id-only, safe to run twice."""

from celery import shared_task

from . import scheduled, sending


@shared_task(name="approvals.notifications.tasks.send_system_mail")
def send_system_mail(mail_id: int) -> None:
    outcome = sending.send(mail_id)
    if outcome is not None and outcome.retry_in is not None:
        send_system_mail.apply_async((mail_id,), countdown=outcome.retry_in)


@shared_task(name="approvals.notifications.tasks.sweep_notifications")
def sweep_notifications() -> None:
    """Beat: remind reviewers, send unreviewed requests back to draft, re-queue system mail a lost task left."""
    scheduled.send_review_reminders()
    scheduled.expire_review_requests()
    scheduled.requeue_waiting_mail()


@shared_task(name="approvals.notifications.tasks.send_daily_digest")
def send_daily_digest() -> None:
    scheduled.send_daily_digest()
